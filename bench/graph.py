"""BELUGA store throughput: inserts and lineage queries on SQLite and PostgreSQL.

For each size N the graph is N ``quantum_state`` entities, each derived from the one before it and
from one random node among the 100 before that (fan-in 2, so upstream lineage widens with depth
the way provenance of related runs does). Measured, on the same graph on both databases:

* bulk insert: the whole graph through ``import_node_link`` (batched, one transaction);
* API insert: ``add_entity`` + ``relate`` per node, one transaction each, as workers write;
* lineage: ``lineage(root, depth=d, direction="upstream")`` from random roots, per depth.

Run: ``python bench/graph.py`` (``--sizes 10000`` for a quick run). PostgreSQL at
``$DUNES_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``)
gets a scratch schema that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from dunes.beluga import GraphStore, content_id, import_node_link, open_store
from dunes.config import get_settings

POSTGRES_URL = os.environ.get(
    "DUNES_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DEPTHS = (1, 2, 4, 8, 16)


@contextmanager
def scratch_store(backend: str, workdir: Path) -> Iterator[GraphStore]:
    settings = get_settings(data_dir=workdir / "data")
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.sqlite3"
        with open_store(settings, url=f"sqlite:///{path}") as store:
            yield store
        return
    schema = f"beluga_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        with open_store(settings, url=url) as store:
            yield store
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_graph(size: int, seed: int) -> tuple[dict[str, Any], list[str]]:
    rng = random.Random(seed)
    now = datetime.now(UTC).isoformat()
    ids: list[str] = []
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    for n in range(size):
        data = {"n": n, "num_qubits": 1 + n % 20}
        node_id = content_id("quantum_state", data)
        nodes.append(
            {
                "id": node_id,
                "category": "entity",
                "kind": "quantum_state",
                "data": data,
                "created_at": now,
            }
        )
        if n:
            parents = {n - 1, rng.randrange(max(0, n - 100), n)}
            for p in parents:
                edges.append({"source": node_id, "target": ids[p], "relation": "wasDerivedFrom"})
        ids.append(node_id)
    return {"nodes": nodes, "edges": edges}, ids


def bench_one(
    backend: str, size: int, workdir: Path, queries: int, api_sample: int
) -> dict[str, Any]:
    doc, ids = make_graph(size, seed=size)
    row: dict[str, Any] = {"backend": backend, "nodes": size, "edges": len(doc["edges"])}
    with scratch_store(backend, workdir) as store:
        start = time.perf_counter()
        import_node_link(store, doc)
        row["bulk_s"] = time.perf_counter() - start

        rng = random.Random(1)
        start = time.perf_counter()
        previous = ids[-1]
        for n in range(api_sample):
            node = store.add_entity("quantum_state", {"api": n, "backend": backend})
            store.relate(node, "wasDerivedFrom", previous)
            previous = node
        row["api_s"] = time.perf_counter() - start

        roots = [ids[rng.randrange(size // 2, size)] for _ in range(queries)]
        store.lineage(roots[0], depth=1, direction="upstream")  # warm the pool and caches
        for depth in DEPTHS:
            times, found = [], []
            for root in roots:
                start = time.perf_counter()
                lineage = store.lineage(root, depth=depth, direction="upstream")
                times.append(time.perf_counter() - start)
                found.append(len(lineage.upstream))
            row[f"d{depth}_ms"] = statistics.median(times) * 1000
            row[f"d{depth}_n"] = statistics.mean(found)
    row["bulk_rate"] = size / row["bulk_s"]
    row["api_rate"] = api_sample / row["api_s"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--queries", type=int, default=30, help="lineage roots per depth")
    parser.add_argument("--api-sample", type=int, default=1000, help="nodes added through the API")
    args = parser.parse_args()

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            for backend in args.backends:
                rows.append(bench_one(backend, size, Path(tmp), args.queries, args.api_sample))

    depth_cols = " | ".join(f"lineage d={d} ms (nodes)" for d in DEPTHS)
    print(f"| backend | nodes | edges | bulk insert nodes/s | API insert nodes/s | {depth_cols} |")
    print("|" + "---|" * (5 + len(DEPTHS)))
    for r in rows:
        depths = " | ".join(f"{r[f'd{d}_ms']:.2f} ({r[f'd{d}_n']:.0f})" for d in DEPTHS)
        print(
            f"| {r['backend']} | {r['nodes']:,} | {r['edges']:,} | {r['bulk_rate']:,.0f} | "
            f"{r['api_rate']:,.0f} | {depths} |"
        )
    if {"sqlite", "postgresql"} <= set(args.backends):
        print()
        print("ratio PostgreSQL / SQLite (time; above 1 means PostgreSQL is slower)")
        print()
        cols = " | ".join(f"lineage d={d}" for d in DEPTHS)
        print(f"| nodes | bulk insert | API insert | {cols} |")
        print("|" + "---|" * (3 + len(DEPTHS)))
        for size in args.sizes:
            lite = next(r for r in rows if r["nodes"] == size and r["backend"] == "sqlite")
            pg = next(r for r in rows if r["nodes"] == size and r["backend"] == "postgresql")
            ratios = [pg["bulk_s"] / lite["bulk_s"], pg["api_s"] / lite["api_s"]]
            ratios += [pg[f"d{d}_ms"] / lite[f"d{d}_ms"] for d in DEPTHS]
            print(f"| {size:,} | " + " | ".join(f"{x:.2f}x" for x in ratios) + " |")
    print()
    print(
        f"lineage: median of {args.queries} random roots per depth, upstream; "
        f"API insert: {args.api_sample} nodes, add_entity + relate, one transaction each"
    )


if __name__ == "__main__":
    main()
