"""The provenance graph: nodes by id prefix, lineage, similarity search, export and import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from dunes.beluga import Edge, Lineage, Node, export_text, import_text
from dunes.beluga.artifacts import GcReport
from dunes.constants import GRAPH_FORMATS as FORMATS
from dunes.constants import Direction
from dunes.errors import InvalidInputError
from dunes.services.context import Services
from dunes.services.public import SearchHit, SearchResult, public_node
from dunes.services.threads import io_bound


@io_bound
def show_node(*, services: Services, node_id: str, embedding: bool = False) -> Node:
    """One node by id or unique id prefix."""
    return public_node(services.store.get_node(node_id), embedding=embedding)


@io_bound
def node_edges(*, services: Services, node_id: str) -> list[Edge]:
    """The relations a node (by id or unique prefix) takes part in, either way."""
    return services.store.edges_of(services.store.get_node(node_id).id)


@io_bound
def lineage(
    *,
    services: Services,
    node_id: str,
    depth: int = 3,
    direction: Direction = "both",
    embedding: bool = False,
) -> Lineage:
    """What a node came from and what came from it, up to ``depth`` hops."""
    found = services.store.lineage(node_id, depth=depth, direction=direction)
    return found.model_copy(
        update={"nodes": [public_node(n, embedding=embedding) for n in found.nodes]}
    )


@io_bound
def list_nodes(*, services: Services, kind: str | None = None, limit: int = 20) -> list[Node]:
    """The newest nodes, optionally of one kind."""
    return [public_node(n) for n in services.store.find_nodes(kind=kind, limit=limit)]


def search_graph(
    *,
    services: Services,
    text: str | None = None,
    vector: list[float] | None = None,
    top: int = 5,
    kind: str | None = None,
    embedding: bool = False,
) -> SearchResult:
    """Nodes whose stored embedding is nearest to ``text`` (embedded by the agents' model) or to
    ``vector``; one hit per distinct node content (the same text stored twice is one hit).

    Raises:
        InvalidInputError: neither text nor vector given.
    """
    model = None
    if vector is None:
        if not text or not text.strip():
            raise InvalidInputError("give a text to search for (or a vector)", field="text")
        vector = [float(v) for v in services.agents.embed([text])[0]]
        model = services.agents.model_name("planner")
    # Ask for more than wanted: duplicates of one content are dropped below.
    raw = services.store.search(vector, top_k=max(top * 4, top + 8), kind=kind)
    hits: list[SearchHit] = []
    seen: set[tuple[str, str | None, float]] = set()
    for node, score in raw:
        key = (node.kind, node.label, round(score, 9))
        if key in seen:
            continue
        seen.add(key)
        hits.append(SearchHit(node=public_node(node, embedding=embedding), score=score))
        if len(hits) == top:
            break
    return SearchResult(query=text or "(vector)", kind=kind, model=model, hits=hits)


class GraphStats(BaseModel):
    """How much the graph holds: node kinds and relations apart, jobs by status."""

    model_config = ConfigDict(frozen=True)

    database: str
    nodes: int
    edges: int
    jobs: int
    embeddings: int
    kinds: dict[str, int]
    relations: dict[str, int]
    job_statuses: dict[str, int]


@io_bound
def graph_stats(*, services: Services) -> GraphStats:
    counts = services.store.stats()
    return GraphStats(
        database=counts["database"],
        nodes=counts["nodes"],
        edges=counts["edges"],
        jobs=counts["jobs"],
        embeddings=counts["embeddings"],
        kinds=dict(counts["kinds"]),
        relations=dict(counts["relations"]),
        job_statuses=dict(counts["job_statuses"]),
    )


@dataclass(frozen=True)
class GraphExport:
    """An export: its text, its format, and its size in bytes (UTF-8)."""

    text: str
    format: str

    @property
    def bytes(self) -> int:
        return len(self.text.encode("utf-8"))


def export_graph(*, services: Services, fmt: str = "json") -> GraphExport:
    """The whole graph as node-link JSON, GraphML, PROV-JSON or the seed's YAML."""
    if fmt not in FORMATS:
        raise InvalidInputError(
            f"unknown export format {fmt!r}: accepted are {', '.join(FORMATS)}", field="format"
        )
    return GraphExport(text=export_text(services.store, fmt), format=fmt)


class GraphImport(BaseModel):
    """What an import read: its format, nodes and edges."""

    model_config = ConfigDict(frozen=True)

    format: str
    nodes: int
    edges: int


def import_graph(*, services: Services, text: str, fmt: str | None = None) -> GraphImport:
    """Load an export in any format ``export_graph`` writes (told by its content)."""
    from dunes.beluga.exchange import detect_import_format

    chosen = fmt or detect_import_format(text)
    counts: dict[str, Any] = import_text(services.store, text, fmt=chosen)
    return GraphImport(format=chosen, nodes=counts["nodes"], edges=counts["edges"])


def collect_garbage(
    *,
    services: Services,
    older_than_days: float | None = None,
    max_bytes: int | None = None,
    dry_run: bool = False,
) -> GcReport:
    """Reclaim artifacts: unreferenced, then by age and total size (defaults: the settings)."""
    store_settings = services.settings.store
    days = (
        older_than_days if older_than_days is not None else store_settings.artifact_retention_days
    )
    budget = max_bytes if max_bytes is not None else store_settings.artifact_max_bytes
    return services.store.collect_garbage(
        older_than=timedelta(days=days) if days is not None else None,
        max_bytes=budget,
        dry_run=dry_run,
    )


_UNITS = {
    "": 1,
    "b": 1,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
}


def parse_size(text: str) -> int:
    """``20GiB``, ``500MB``, ``1048576`` -> bytes.

    Raises:
        InvalidInputError: names the accepted forms.
    """
    import re

    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise InvalidInputError(
            f"cannot read size {text!r}; write a number with an optional unit: "
            "B, KiB, MiB, GiB, TiB, KB, MB, GB, TB (e.g. 20GiB)",
            field="max_size",
        )
    return int(float(match.group(1)) * _UNITS[unit])


@io_bound
def artifact_file(*, services: Services, sha256: str) -> Path:
    """The ``.npy`` file of a stored artifact.

    Raises:
        ArtifactError: no such artifact (or it was reclaimed by ``dunes graph gc``, and when).
    """
    from dunes.errors import ArtifactError
    from dunes.quantum.result import TOMBSTONE_SUFFIX

    path = services.settings.artifacts_dir / f"{sha256}.npy"
    if path.is_file():
        return path
    tombstone = path.with_suffix(TOMBSTONE_SUFFIX)
    if tombstone.is_file():
        note = tombstone.read_text(encoding="utf-8", errors="replace")[:200]
        raise ArtifactError(f"artifact {sha256} was reclaimed by 'dunes graph gc' ({note})")
    raise ArtifactError(f"no artifact {sha256}", field="artifact_id")
