"""``dunes graph``: look at the BELUGA provenance graph (show, lineage, search, export, stats, gc)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from dunes.beluga import GraphStore, Lineage, Node, open_store
from dunes.beluga.exchange import FORMATS
from dunes.config import get_settings
from dunes.errors import InvalidInputError, MissingDependencyError
from dunes.interfaces.cli.common import console, print_json
from dunes.quantum.memory import format_bytes

app = typer.Typer(
    help="The provenance graph: what produced what, and which runs resemble each other.",
    no_args_is_help=True,
)

IdArg = Annotated[str, typer.Argument(help="Node id or a unique prefix of one (like git).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


@contextmanager
def _store() -> Iterator[GraphStore]:
    with open_store(get_settings()) as store:
        yield store


def _summary(node: Node, width: int = 60) -> str:
    if node.label:
        text = node.label
    elif node.kind == "circuit":
        text = str(node.data.get("circuit", ""))
    elif isinstance(node.data.get("text"), str):
        text = node.data["text"]
    else:
        text = json.dumps(node.data, sort_keys=True)
    return text if len(text) <= width else text[: width - 1] + "…"


@app.command()
def show(node_id: IdArg, as_json: JsonOpt = False) -> None:
    """Show one node: its kind, data and relations."""
    with _store() as store:
        node = store.get_node(node_id)
        links = store.edges_of(node.id)
    if as_json:
        print_json(
            {
                "node": node.model_dump(mode="json", exclude={"embedding"})
                | {"has_embedding": node.embedding is not None},
                "edges": [e.model_dump(mode="json") for e in links],
            }
        )
        return
    console.print(f"[bold]{node.id}[/]  {node.category} [cyan]{node.kind}[/]", highlight=False)
    console.print(f"created {node.created_at.isoformat()}", highlight=False)
    if node.label:
        console.print(f"label: {node.label}", highlight=False)
    for key, value in sorted(node.data.items()):
        text = json.dumps(value, sort_keys=True)
        if len(text) > 100:
            text = text[:99] + "… (use --json)"
        console.print(f"  {key}: {text}", highlight=False, markup=False)
    if links:
        table = Table("src", "relation", "dst", title="relations")
        for edge in links:
            table.add_row(edge.src[:16], edge.relation, edge.dst[:16])
        console.print(table)


@app.command()
def lineage(
    node_id: IdArg,
    depth: Annotated[int, typer.Option(help="Hops to follow (0..100).")] = 3,
    direction: Annotated[str, typer.Option(help="upstream|downstream|both")] = "both",
    as_json: JsonOpt = False,
) -> None:
    """What a node came from (upstream) and what came from it (downstream)."""
    with _store() as store:
        found = store.lineage(node_id, depth=depth, direction=direction)  # type: ignore[arg-type]
    if as_json:
        print_json(found.model_dump(mode="json", exclude={"nodes": {"__all__": {"embedding"}}}))
        return
    render_lineage(found)


def render_lineage(found: Lineage) -> None:
    """A table ordered from the oldest ancestor through the root to the newest descendant."""
    table = Table(
        "hops", "kind", "id", "summary", title=f"lineage of {found.root[:16]} (depth {found.depth})"
    )
    order = sorted(
        found.nodes,
        key=lambda n: (
            -found.upstream[n.id] if n.id in found.upstream else found.downstream.get(n.id, 0),
            n.kind,
            n.id,
        ),
    )
    for node in order:
        if node.id == found.root:
            hops = "root"
        elif node.id in found.upstream:
            hops = f"↑{found.upstream[node.id]}"
        else:
            hops = f"↓{found.downstream[node.id]}"
        table.add_row(hops, node.kind, node.id[:16], _summary(node))
    console.print(table)
    if found.edges:
        console.print(
            "\n".join(f"{e.src[:12]} {e.relation} {e.dst[:12]}" for e in found.edges),
            highlight=False,
        )


def _embed(text: str) -> list[float]:
    try:
        from dunes.agents import AgentRuntime
    except ImportError as exc:
        raise MissingDependencyError(
            f"graph search by text needs dunes.agents (AgentRuntime) to embed it: {exc}; "
            "search by a stored vector with --vector '[...]' instead"
        ) from exc
    vectors = AgentRuntime(get_settings()).embed([text])
    return [float(v) for v in vectors[0]]


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="What to look for, in words.")] = "",
    top: Annotated[int, typer.Option("--top", "-k", help="How many results.")] = 5,
    kind: Annotated[str | None, typer.Option(help="Only nodes of this kind, e.g. task.")] = None,
    vector: Annotated[
        str | None, typer.Option(help="Search by this JSON vector instead of embedding TEXT.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Nodes whose stored embedding is closest to TEXT (cosine similarity)."""
    if vector is not None:
        try:
            query = json.loads(vector)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"--vector must be a JSON list of numbers, e.g. '[0.1, 0.2]': {exc.msg}",
                field="vector",
            ) from exc
    elif text.strip():
        query = _embed(text)
    else:
        raise InvalidInputError("give TEXT to search for, or --vector", field="text")
    with _store() as store:
        hits = store.search(query, top_k=top, kind=kind)
    if as_json:
        print_json(
            [
                {"score": score, "node": node.model_dump(mode="json", exclude={"embedding"})}
                for node, score in hits
            ]
        )
        return
    if not hits:
        console.print("no stored embeddings to compare with")
        return
    table = Table("score", "kind", "id", "summary", title="most similar")
    for node, score in hits:
        table.add_row(f"{score:.4f}", node.kind, node.id[:16], _summary(node))
    console.print(table)


@app.command(name="list")
def list_nodes(
    kind: Annotated[str | None, typer.Option(help="Only nodes of this kind.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """The newest nodes."""
    with _store() as store:
        found = store.find_nodes(kind=kind, limit=limit)
    if as_json:
        print_json([n.model_dump(mode="json", exclude={"embedding"}) for n in found])
        return
    table = Table("created", "kind", "id", "summary", title="nodes (newest first)")
    for node in found:
        table.add_row(
            node.created_at.strftime("%Y-%m-%d %H:%M:%S"), node.kind, node.id[:16], _summary(node)
        )
    console.print(table)


@app.command()
def export(
    fmt: Annotated[
        str, typer.Option("--format", "-f", help=f"One of {', '.join(FORMATS)}.")
    ] = "json",
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """The whole graph as node-link JSON, GraphML, PROV-JSON or the seed's YAML."""
    with _store() as store:
        text = store.export(fmt)
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out} ({len(text):,} bytes, {fmt})", highlight=False)


@app.command(name="import")
def import_(
    path: Annotated[
        Path, typer.Argument(help="A node-link .json export or a quantum_graph .yaml.")
    ],
) -> None:
    """Load a node-link JSON export or a seed-style quantum_graph YAML into the graph."""
    if not path.is_file():
        raise InvalidInputError(f"no such file: {path}", field="path")
    text = path.read_text(encoding="utf-8")
    with _store() as store:
        if path.suffix.lower() == ".json":
            counts: dict[str, Any] = store.import_node_link(text)
            console.print(f"imported {counts['nodes']} nodes, {counts['edges']} edges")
        else:
            ids = store.import_quantum_graph_yaml(text)
            console.print(f"imported {len(ids)} nodes")


@app.command()
def stats(as_json: JsonOpt = False) -> None:
    """How many nodes, edges and jobs the graph holds, by kind."""
    with _store() as store:
        counts = store.stats()
    if as_json:
        print_json(counts)
        return
    console.print(
        f"{counts['database']}: {counts['nodes']} nodes, {counts['edges']} edges, "
        f"{counts['jobs']} jobs, {counts['embeddings']} embeddings",
        highlight=False,
    )
    table = Table("kind", "nodes")
    for kind, count in counts["kinds"].items():
        table.add_row(kind, str(count))
    for relation, count in counts["relations"].items():
        table.add_row(f"[dim]{relation}[/]", str(count))
    console.print(table)


@app.command()
def gc(
    older_than: Annotated[
        float | None,
        typer.Option(
            help="Remove state artifacts older than this many days "
            "(default: store.artifact_retention_days).",
        ),
    ] = None,
    max_size: Annotated[
        str | None,
        typer.Option(
            help="Keep at most this much, e.g. 20GiB, removing the oldest first "
            "(default: store.artifact_max_bytes).",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would go.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Reclaim disk space: artifacts no node refers to, then old ones by the retention rules."""
    settings = get_settings()
    days = older_than if older_than is not None else settings.store.artifact_retention_days
    budget = parse_size(max_size) if max_size is not None else settings.store.artifact_max_bytes
    with _store() as store:
        report = store.collect_garbage(
            older_than=timedelta(days=days) if days is not None else None,
            max_bytes=budget,
            dry_run=dry_run,
        )
    if as_json:
        print_json(report.public())
        return
    verb = "would remove" if dry_run else "removed"
    console.print(
        f"{verb} {len(report.removed)} artifact(s), {format_bytes(report.removed_bytes)}; "
        f"kept {report.kept_files}, {format_bytes(report.kept_bytes)}",
        highlight=False,
    )
    for item in report.removed[:20]:
        console.print(f"  {item['file'][:16]}…  {format_bytes(item['bytes'])}  {item['why']}")


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
