"""``GraphStore``: the provenance graph and the job records, on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import Connection, RowMapping

from dunes.beluga import db
from dunes.beluga._sql import _check_id, _check_page, _Statements
from dunes.beluga.artifacts import GcReport, collect_garbage
from dunes.beluga.batch import INLINE_STATE_MAX_QUBITS, GraphBatch, _vector, edge_params, node_row
from dunes.beluga.canonical import canonical_json, circuit_data, content_id, jsonable
from dunes.beluga.jobs import JobStore, _job
from dunes.beluga.models import (
    KINDS,
    Category,
    Edge,
    JobRecord,
    Lineage,
    Node,
)
from dunes.beluga.schema import ID_LENGTH, edges, jobs, nodes
from dunes.constants import Direction
from dunes.errors import ArtifactError, InvalidInputError, NodeNotFoundError, StoreError

if TYPE_CHECKING:
    from dunes.config import Settings
    from dunes.quantum import CircuitSpec, SimulationResult
    from dunes.quantum.result import Artifact

__all__ = [
    "INLINE_STATE_MAX_QUBITS",
    "MAX_DEPTH",
    "GraphStore",
    "JobStore",
    "canonical_json",
    "circuit_data",
    "content_id",
    "jsonable",
    "open_store",
    "shared_store",
]

T = TypeVar("T")
MAX_DEPTH = 100
_CHUNK = 500


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _node(row: RowMapping) -> Node:
    embedding = None
    if row["embedding"] is not None:
        embedding = np.frombuffer(bytes(row["embedding"]), dtype="<f4").astype(float).tolist()
    return Node(
        id=row["id"],
        category=row["category"],
        kind=row["kind"],
        label=row["label"],
        data=row["data"] or {},
        created_at=row["created_at"],
        embedding=embedding,
    )


def _edge(row: RowMapping) -> Edge:
    return Edge(
        src=row["src"], relation=row["relation"], dst=row["dst"], created_at=row["created_at"]
    )


# ---------------------------------------------------------------------------------------------


class GraphStore(JobStore):
    """The BELUGA provenance graph and job records behind one SQLAlchemy engine.

    Safe to share between threads; each process opens its own (see :func:`open_store`).
    """

    def __init__(self, engine: Engine, *, artifacts_dir: Path | None = None) -> None:
        self.engine = engine
        self.artifacts_dir = artifacts_dir
        self._sql = _Statements(engine.dialect.name)
        # The connection of the unit of work (see ``atomic``) open in this thread, if any.
        self._local = threading.local()

    @property
    def url(self) -> str:
        """The database URL without its password."""
        return db.display_url(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _write(self, fn: Callable[[Connection], T], what: str) -> T:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            # Inside a unit of work the call is a savepoint of it: a call that gives up (raises)
            # takes back what it wrote, as it would in a transaction of its own.
            with conn.begin_nested():
                return fn(conn)
        return db.run(self.engine, fn, what=what, write=True)

    def _read(self, fn: Callable[[Connection], T], what: str) -> T:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return fn(conn)
        return db.run(self.engine, fn, what=what, write=False)

    def atomic(self, fn: Callable[[GraphStore], T], *, what: str = "a unit of work") -> T:
        """Run ``fn(store)`` so that every store call it makes shares ONE write transaction.

        A commit is the expensive part of a small write (a lock, a WAL append, an fsync on
        PostgreSQL), so a step that makes thirty calls should pay for one. All or nothing: if
        ``fn`` raises, nothing it wrote is kept; a store call inside it that raises takes back
        only its own writes (a savepoint), so ``fn`` may catch it and go on. On lock contention the whole of ``fn`` is run
        again, so it must not have effects outside the store that cannot be repeated. Calls from
        other threads are not part of it; a nested ``atomic`` joins the outer one.

        Raises:
            StoreError: the database failed, or stayed locked past the retry deadline.
        """
        if getattr(self._local, "conn", None) is not None:
            return fn(self)

        def work(conn: Connection) -> T:
            self._local.conn = conn
            try:
                return fn(self)
            finally:
                self._local.conn = None

        return db.run(self.engine, work, what=what, write=True)

    # -- nodes ---------------------------------------------------------------------------------

    def add_entity(
        self,
        kind: str,
        data: Any,
        *,
        id: str | None = None,
        embedding: Sequence[float] | np.ndarray | None = None,
        label: str | None = None,
    ) -> str:
        """Store a thing; its id is the sha256 of its canonical content unless ``id`` is given,
        so the same content stored twice is one node."""
        return self._add_node("entity", kind, data, id, embedding, label)

    def add_activity(
        self, kind: str, data: Any, *, id: str | None = None, label: str | None = None
    ) -> str:
        """Store something that happened (a random id unless given; re-adding replaces data)."""
        return self._add_node("activity", kind, data, id, None, label)

    def add_agent(
        self, kind: str, data: Any, *, id: str | None = None, label: str | None = None
    ) -> str:
        """Store who or what acted (device, worker, model, user); content-addressed unless ``id``."""
        return self._add_node("agent", kind, data, id, None, label)

    def _add_node(
        self,
        category: Category,
        kind: str,
        data: Any,
        node_id: str | None,
        embedding: Sequence[float] | np.ndarray | None,
        label: str | None,
    ) -> str:
        """Prepare the node, then write it in a transaction of its own (or the open unit's)."""
        values = node_row(category, kind, data, node_id, embedding, label)
        self._write(lambda conn: self._apply_node(conn, values), f"storing an {category}")
        return str(values["id"])

    def _apply_node(
        self, conn: Connection, values: dict[str, Any], *, keep_existing: bool = False
    ) -> None:
        """Insert a prepared node; an existing one keeps its content (entities are content-
        addressed) but takes new data (activities, agents), a label and a missing embedding."""
        statement = self._sql.insert_node if keep_existing else self._sql.upsert_node
        if conn.execute(statement, values).first() is not None or keep_existing:
            return
        node_id, category, kind = values["id"], values["category"], values["kind"]
        existing = conn.execute(
            select(nodes.c.category, nodes.c.kind).where(nodes.c.id == node_id)
        ).one()
        raise InvalidInputError(
            f"id {node_id} already names a {existing.kind} {existing.category}, "
            f"not a {kind} {category}",
            field="id",
        )

    def relate(self, src_id: str, relation: str, dst_id: str) -> None:
        """Record ``src relation dst`` (PROV direction: effect -> cause); idempotent.

        Accepted relations: used (activity -> entity), wasGeneratedBy (entity -> activity),
        wasAssociatedWith (activity -> agent), wasDerivedFrom (entity -> entity) and
        wasInformedBy (activity -> activity).

        Raises:
            NodeNotFoundError: either end is not stored.
            InvalidInputError: unknown relation, or ends of the wrong category.
        """
        params = edge_params(src_id, relation, dst_id)
        self._write(lambda conn: self._apply_edge(conn, params), "relating nodes")

    def _apply_edge(self, conn: Connection, params: dict[str, Any]) -> None:
        """Insert a prepared relation (idempotent); say which end is missing or of which kind."""
        if conn.execute(self._sql.insert_edge, params).first() is not None:
            return
        # Nothing inserted: already there, or one end is missing or of the wrong category.
        src_id, dst_id, relation = params["b_src"], params["b_dst"], params["b_relation"]
        src_cat, dst_cat = params["b_src_cat"], params["b_dst_cat"]
        found = {
            row.id: row
            for row in conn.execute(
                select(nodes.c.id, nodes.c.category, nodes.c.kind).where(
                    nodes.c.id.in_([src_id, dst_id])
                )
            )
        }
        for node_id in (src_id, dst_id):
            if node_id not in found:
                raise NodeNotFoundError(f"no node {node_id} to relate ({relation})", field="id")
        if found[src_id].category != src_cat or found[dst_id].category != dst_cat:
            raise InvalidInputError(
                f"{relation} goes from an {src_cat} to an {dst_cat}; got "
                f"{found[src_id].kind} {found[src_id].category} -> "
                f"{found[dst_id].kind} {found[dst_id].category}",
                field="relation",
            )

    def resolve(self, id_or_prefix: str) -> str:
        """The full id for an id or a unique prefix of one (like git).

        Raises:
            NodeNotFoundError: no node id starts with it.
            InvalidInputError: several do (the message lists some).
        """
        _check_id(id_or_prefix)
        return self._read(lambda conn: self._resolve(conn, id_or_prefix), "looking up a node")

    def _resolve(self, conn: Connection, prefix: str) -> str:
        if conn.execute(select(nodes.c.id).where(nodes.c.id == prefix)).first():
            return prefix
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = conn.execute(
            select(nodes.c.id).where(nodes.c.id.like(pattern, escape="\\")).limit(50)
        ).all()
        matches = [row.id for row in rows if row.id.startswith(prefix)]
        if not matches:
            raise NodeNotFoundError(f"no node with id or id prefix {prefix!r}", field="id")
        if len(matches) > 1:
            shown = ", ".join(m[:16] for m in matches[:5])
            raise InvalidInputError(
                f"id prefix {prefix!r} is ambiguous: {len(matches)}"
                f"{'+' if len(matches) == 50 else ''} nodes match ({shown}, ...); give more characters",
                field="id",
            )
        return str(matches[0])

    def get_node(self, id: str) -> Node:
        """The node with this id (or unique id prefix).

        Raises:
            NodeNotFoundError: no such node.
        """
        _check_id(id)

        def work(conn: Connection) -> Node:
            full = self._resolve(conn, id)
            return _node(conn.execute(select(nodes).where(nodes.c.id == full)).mappings().one())

        return self._read(work, "reading a node")

    def find_nodes(
        self,
        *,
        kind: str | None = None,
        category: Category | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Node]:
        """Newest nodes first, optionally of one kind or category."""
        _check_page(limit, offset)
        query = select(nodes).order_by(nodes.c.created_at.desc(), nodes.c.id)
        if kind is not None:
            query = query.where(nodes.c.kind == kind)
        if category is not None:
            query = query.where(nodes.c.category == category)
        query = query.limit(limit).offset(offset)
        return self._read(
            lambda conn: [_node(r) for r in conn.execute(query).mappings()], "listing nodes"
        )

    def edges_of(self, id: str) -> list[Edge]:
        """Every relation that starts or ends at this node."""

        def work(conn: Connection) -> list[Edge]:
            full = self._resolve(conn, id)
            query = (
                select(edges)
                .where((edges.c.src == full) | (edges.c.dst == full))
                .order_by(edges.c.id)
            )
            return [_edge(r) for r in conn.execute(query).mappings()]

        return self._read(work, "reading edges")

    # -- queries -------------------------------------------------------------------------------

    def lineage(self, id: str, *, depth: int = 3, direction: Direction = "both") -> Lineage:
        """The node's ancestors (upstream: what it came from) and/or descendants (downstream),
        up to ``depth`` hops, found with a recursive CTE.

        Raises:
            NodeNotFoundError: no such node.
            InvalidInputError: a depth outside 0..100 or an unknown direction.
        """
        if isinstance(depth, bool) or not isinstance(depth, int) or not 0 <= depth <= MAX_DEPTH:
            raise InvalidInputError(
                f"depth must be a whole number from 0 to {MAX_DEPTH}, got {depth!r}", field="depth"
            )
        if direction not in ("upstream", "downstream", "both"):
            raise InvalidInputError(
                f"direction {direction!r}: accepted are upstream, downstream, both",
                field="direction",
            )
        _check_id(id)

        def work(conn: Connection) -> Lineage:
            root = self._resolve(conn, id)
            up = self._walk(conn, root, depth, "upstream") if direction != "downstream" else {}
            down = self._walk(conn, root, depth, "downstream") if direction != "upstream" else {}
            ids = sorted({root, *up, *down})
            found: list[Node] = []
            links: list[Edge] = []
            for chunk in _chunks(ids):
                found += [
                    _node(r)
                    for r in conn.execute(select(nodes).where(nodes.c.id.in_(chunk))).mappings()
                ]
                links += [
                    _edge(r)
                    for r in conn.execute(
                        select(edges).where(edges.c.src.in_(chunk)).order_by(edges.c.id)
                    ).mappings()
                ]
            wanted = set(ids)
            return Lineage(
                root=root,
                depth=depth,
                direction=direction,
                nodes=sorted(found, key=lambda n: (n.id != root, up.get(n.id, 0), n.id)),
                edges=[e for e in links if e.dst in wanted],
                upstream=up,
                downstream=down,
            )

        return self._read(work, "querying lineage")

    @staticmethod
    def _walk(
        conn: Connection, root: str, depth: int, direction: Literal["upstream", "downstream"]
    ) -> dict[str, int]:
        near, far = ("src", "dst") if direction == "upstream" else ("dst", "src")
        sql = text(
            f"""
            WITH RECURSIVE walk(id, dist) AS (
                SELECT CAST(:root AS VARCHAR({ID_LENGTH})), 0
                UNION
                SELECT e.{far}, w.dist + 1
                FROM beluga_edges e JOIN walk w ON e.{near} = w.id
                WHERE w.dist < :depth
            )
            SELECT id, MIN(dist) AS dist FROM walk WHERE id <> :root GROUP BY id
            """
        )
        return {row.id: int(row.dist) for row in conn.execute(sql, {"root": root, "depth": depth})}

    def jobs_for(self, id: str, *, depth: int = MAX_DEPTH) -> list[JobRecord]:
        """Every job upstream of a node: the jobs that (directly or not) produced it."""
        found = self.lineage(id, depth=depth, direction="upstream")
        job_ids = [n.id for n in found.nodes if n.kind == "job" and n.id != found.root]

        def work(conn: Connection) -> list[JobRecord]:
            out: list[JobRecord] = []
            for chunk in _chunks(job_ids):
                out += [
                    _job(r)
                    for r in conn.execute(select(jobs).where(jobs.c.id.in_(chunk))).mappings()
                ]
            return sorted(out, key=lambda j: (j.created_at, j.id))

        return self._read(work, "reading jobs")

    def search(
        self,
        vector: Sequence[float] | np.ndarray,
        *,
        top_k: int = 5,
        kind: str | None = None,
    ) -> list[tuple[Node, float]]:
        """Nodes whose stored embedding is closest to ``vector`` by cosine similarity, best first.

        Only embeddings of the same dimension are compared (others come from another encoder).
        """
        query_vec = _vector(vector, "vector")
        norm = float(np.linalg.norm(query_vec))
        if norm == 0:
            raise InvalidInputError("vector must not be all zeros", field="vector")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise InvalidInputError(f"top_k must be a whole number >= 1, got {top_k!r}")
        if kind is not None and not any(kind in kinds for kinds in KINDS.values()):
            known = sorted(set().union(*KINDS.values()))
            raise InvalidInputError(f"unknown kind {kind!r}: accepted are {', '.join(known)}")

        def work(conn: Connection) -> list[tuple[Node, float]]:
            query = select(nodes.c.id, nodes.c.embedding).where(
                nodes.c.embedding.is_not(None), nodes.c.embedding_dim == query_vec.size
            )
            if kind is not None:
                query = query.where(nodes.c.kind == kind)
            rows = conn.execute(query).all()
            if not rows:
                return []
            matrix = np.frombuffer(b"".join(bytes(r.embedding) for r in rows), dtype="<f4").reshape(
                len(rows), query_vec.size
            )
            matrix = matrix.astype(np.float64)
            norms = np.linalg.norm(matrix, axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                scores = np.where(norms > 0, matrix @ query_vec / (norms * norm), 0.0)
            ranked = sorted(
                zip((r.id for r in rows), scores.tolist(), strict=True),
                key=lambda pair: (-pair[1], pair[0]),
            )[:top_k]
            by_id = {
                r["id"]: _node(r)
                for r in conn.execute(
                    select(nodes).where(nodes.c.id.in_([i for i, _ in ranked]))
                ).mappings()
            }
            return [(by_id[i], float(score)) for i, score in ranked]

        return self._read(work, "searching embeddings")

    def stats(self) -> dict[str, Any]:
        """Counts of nodes by category and kind, edges by relation, jobs by status."""

        def work(conn: Connection) -> dict[str, Any]:
            by_kind = conn.execute(
                select(nodes.c.category, nodes.c.kind, func.count()).group_by(
                    nodes.c.category, nodes.c.kind
                )
            ).all()
            by_relation = conn.execute(
                select(edges.c.relation, func.count()).group_by(edges.c.relation)
            ).all()
            by_status = conn.execute(
                select(jobs.c.status, func.count()).group_by(jobs.c.status)
            ).all()
            embedded = conn.execute(
                select(func.count()).where(nodes.c.embedding.is_not(None))
            ).scalar_one()
            categories: dict[str, int] = {}
            kinds: dict[str, int] = {}
            for category, kind, count in by_kind:
                categories[category] = categories.get(category, 0) + count
                kinds[kind] = count
            return {
                "database": self.url,
                "nodes": sum(categories.values()),
                "edges": sum(c for _, c in by_relation),
                "jobs": sum(c for _, c in by_status),
                "embeddings": embedded,
                "categories": dict(sorted(categories.items())),
                "kinds": dict(sorted(kinds.items())),
                "relations": dict(sorted((r, c) for r, c in by_relation)),
                "job_statuses": dict(sorted((s, c) for s, c in by_status)),
            }

        return self._read(work, "counting the graph")

    def iter_nodes(self, *, batch: int = 1000) -> Iterator[Node]:
        """Every node, in id order, read in batches (for exports)."""
        after = ""

        def page_after(conn: Connection) -> list[Node]:
            query = select(nodes).where(nodes.c.id > after).order_by(nodes.c.id).limit(batch)
            return [_node(r) for r in conn.execute(query).mappings()]

        while True:
            page = self._read(page_after, "reading nodes")
            yield from page
            if len(page) < batch:
                return
            after = page[-1].id

    def iter_edges(self, *, batch: int = 1000) -> Iterator[Edge]:
        """Every edge in insertion order, read in batches."""
        after = 0

        def rows_after(conn: Connection) -> list[Any]:
            query = select(edges).where(edges.c.id > after).order_by(edges.c.id).limit(batch)
            return list(conn.execute(query).mappings())

        while True:
            rows = self._read(rows_after, "reading edges")
            yield from (_edge(r) for r in rows)
            if len(rows) < batch:
                return
            after = rows[-1]["id"]

    # -- artifacts -----------------------------------------------------------------------------

    def artifact_references(self) -> dict[str, datetime]:
        """sha256 of every artifact a node refers to -> when its newest such node was written."""

        def work(conn: Connection) -> dict[str, datetime]:
            found: dict[str, datetime] = {}
            query = select(nodes.c.data, nodes.c.created_at).where(nodes.c.kind == "quantum_state")
            for data, created in conn.execute(query):
                artifact = data.get("artifact") if isinstance(data, dict) else None
                if isinstance(artifact, dict) and isinstance(artifact.get("sha256"), str):
                    sha = artifact["sha256"]
                    found[sha] = max(found.get(sha, created), created)
            return found

        return self._read(work, "reading artifact references")

    def collect_garbage(
        self,
        *,
        older_than: timedelta | None = None,
        max_bytes: int | None = None,
        dry_run: bool = False,
    ) -> GcReport:
        """Reclaim artifact files: unreferenced ones, then by age or total size (oldest first).

        Raises:
            StoreError: the store has no artifacts directory.
        """
        if self.artifacts_dir is None:
            raise StoreError("this store keeps no artifacts directory")
        return collect_garbage(
            self.artifact_references(),
            self.artifacts_dir,
            older_than=older_than,
            max_bytes=max_bytes,
            dry_run=dry_run,
        )

    def load_state(self, id: str) -> np.ndarray | None:
        """The full statevector of a ``quantum_state`` node (inline or from its artifact).

        Raises:
            ArtifactError: the artifact file is missing or its sha256 no longer matches.
        """
        node = self.get_node(id)
        if node.kind != "quantum_state":
            raise InvalidInputError(f"node {node.id} is a {node.kind}, not a quantum_state")
        artifact = node.data.get("artifact")
        if artifact:
            return self.load_artifact(artifact)
        pairs = node.data.get("statevector")
        if pairs is None:
            return None
        array = np.asarray(pairs, dtype=float)
        return array[:, 0] + 1j * array[:, 1]

    @staticmethod
    def load_artifact(artifact: Mapping[str, Any] | Artifact) -> np.ndarray:
        """Read an artifact reference back, checking its sha256.

        Raises:
            ArtifactError: missing, unreadable, corrupt, or not an artifact reference at all.
        """
        from pydantic import ValidationError

        from dunes.quantum.result import Artifact, load_array

        try:
            ref = artifact if isinstance(artifact, Artifact) else Artifact.model_validate(artifact)
        except ValidationError as exc:
            raise ArtifactError(
                f"not an artifact reference (needs path, sha256, shape, dtype): {artifact!r}"
            ) from exc
        return load_array(ref)

    # -- recording -----------------------------------------------------------------------------

    def record_simulation(
        self,
        spec: CircuitSpec,
        result: SimulationResult,
        *,
        job_id: str | None = None,
        device: str | None = None,
    ) -> dict[str, str]:
        """Store a simulation as PROV: the circuit (id ``spec.sha256()``), the simulation activity,
        the quantum_state it generated and the device it ran on, in one transaction.

        Returns ``{"circuit": ..., "simulation": ..., "quantum_state": ...}``; with ``job_id`` the
        simulation is linked to that job (``wasInformedBy``).
        """
        batch = self.batch()
        ids = batch.record_simulation(spec, result, job_id=job_id, device=device)
        self.write(batch, what="recording a simulation")
        return ids

    # -- batches --------------------------------------------------------------------------------

    def batch(self) -> GraphBatch:
        """An empty batch of graph writes for this store (see :meth:`write`)."""
        return GraphBatch(artifacts_dir=self.artifacts_dir)

    def write(self, batch: GraphBatch, *, what: str = "writing to the graph") -> None:
        """Apply a prepared batch in one transaction: its nodes in order, then its relations.

        Raises:
            NodeNotFoundError / InvalidInputError: a relation names a missing node or one of the
                wrong category, or an id already names another kind of node (nothing is kept).
            StoreError: the database failed.
        """
        if len(batch):
            self._write(lambda conn: self._apply_batch(conn, batch), what)

    def _apply_batch(self, conn: Connection, batch: GraphBatch) -> None:
        self._apply_nodes(conn, batch.nodes)
        self._apply_edges(conn, batch.edges)

    def _apply_nodes(self, conn: Connection, rows: Sequence[tuple[dict[str, Any], bool]]) -> None:
        """Prepared nodes, one multi-row statement for those kept as they are and one for the
        rest (one by one, in order, when an id comes twice); a clash is named as for one."""
        ids = [values["id"] for values, _ in rows]
        if len(rows) < 2 or len(set(ids)) < len(ids):
            for values, keep_existing in rows:
                self._apply_node(conn, values, keep_existing=keep_existing)
            return
        kept = [values for values, keep_existing in rows if keep_existing]
        if kept:
            conn.execute(self._sql.insert_node, kept).all()
        upserts = [values for values, keep_existing in rows if not keep_existing]
        if upserts:
            written = {row.id for row in conn.execute(self._sql.upsert_node, upserts)}
            for values in upserts:
                if values["id"] not in written:
                    self._apply_node(conn, values)  # raises, naming what the id is

    def _apply_edges(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Prepared relations: their ends looked up in one statement, then all inserted in one
        executemany; when an end is missing or of the wrong category, one by one (which names
        it)."""
        if len(rows) < 2:
            for params in rows:
                self._apply_edge(conn, params)
            return
        ends = {p["b_src"] for p in rows} | {p["b_dst"] for p in rows}
        found = dict(conn.execute(self._sql.node_categories, {"b_ids": sorted(ends)}).all())
        if all(
            found.get(p["b_src"]) == p["b_src_cat"] and found.get(p["b_dst"]) == p["b_dst_cat"]
            for p in rows
        ):
            conn.execute(self._sql.insert_edges, list(rows))
            return
        for params in rows:
            self._apply_edge(conn, params)


def open_store(settings: Settings | None = None, *, url: str | None = None) -> GraphStore:
    """Open the store at ``settings.database_url`` (or ``url``), applying migrations first.

    Raises:
        StoreError: the database cannot be reached or migrated.
    """
    if settings is None:
        from dunes.config import get_settings

        settings = get_settings()
    engine = db.make_engine(url or settings.database_url)
    try:
        db.migrate(engine)
    except StoreError:
        engine.dispose()
        raise
    return GraphStore(engine, artifacts_dir=settings.artifacts_dir)


_SHARED: dict[tuple[int, str, str], GraphStore] = {}
_SHARED_LOCK = threading.Lock()


def shared_store(settings: Settings | None = None) -> GraphStore:
    """A store kept open for this process, one per database URL (do not close it).

    Per-request callers (REST, MCP, simulate_circuit) use it: opening a store per call costs a
    migration check, a new connection pool and, worse, SQLAlchemy's statement cache, which is
    per engine. Keyed by process id too, so a forked child never reuses its parent's pool.
    """
    if settings is None:
        from dunes.config import get_settings

        settings = get_settings()
    key = (os.getpid(), settings.database_url, str(settings.artifacts_dir))
    with _SHARED_LOCK:
        store = _SHARED.get(key)
        if store is None:
            store = _SHARED[key] = open_store(settings)
        return store
