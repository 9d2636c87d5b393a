"""REST gateway under load: how fast it says where jobs stand while simulations run.

Run: ``python bench/responsiveness.py [--busy 5] [--qubits 20] [--layers 120] [--rounds 2]``

One gateway in this process (``httpx.ASGITransport``, its own SQLite store). ``--busy`` clients
each post a slow ``POST /v1/simulate`` (a non-Clifford ``--qubits`` circuit, counts only, so the
responses stay small); meanwhile a probe asks ``GET /v1/jobs`` every 50 ms and times each answer.
Three layouts take turns in the same process: "one pool" runs every blocking call on the
compute threads (how the servers ran before the I/O threads), "compute + I/O pools" runs calls
marked ``io_bound`` (job state, lists, the graph, waits) on threads of their own, and
"... , GIL handed over every 1 ms" also shortens Python's switch interval from its 5 ms
default (``threads.SWITCH_INTERVAL_S``): an I/O thread that gives up the GIL for every SQLite
call otherwise waits up to a full interval behind each busy Python thread to get it back.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from dunes.services import threads


def slow_circuit(num_qubits: int, layers: int) -> str:
    return "; ".join(
        f"rx({0.1 * (i + 1)},{q})" if (i + q) % 2 else f"cx({q},{(q + 1) % num_qubits})"
        for i in range(layers)
        for q in range(num_qubits)
    )


async def probe_under_load(busy: int, circuit: str) -> tuple[list[float], float]:
    """Latencies of ``GET /v1/jobs`` while ``busy`` simulations run, and the load's wall time."""
    from dunes.config import get_settings
    from dunes.interfaces.api import create_app

    app = create_app(get_settings(api={"rate_limit_per_minute": 1_000_000}))
    body = {"circuit": circuit, "shots": 100, "statevector": False}
    latencies: list[float] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost", timeout=600
        ) as client:
            warm = await client.post("/v1/simulate", json=body)
            warm.raise_for_status()
            started = time.perf_counter()
            load = [
                asyncio.create_task(client.post("/v1/simulate", json=body)) for _ in range(busy)
            ]
            while not all(task.done() for task in load):
                asked = time.perf_counter()
                (await client.get("/v1/jobs")).raise_for_status()
                latencies.append(time.perf_counter() - asked)
                await asyncio.sleep(0.05)
            for task in load:
                task.result().raise_for_status()
            return latencies, time.perf_counter() - started


def one_pool() -> None:
    """Every call on the compute threads, as before the I/O threads."""
    threads.io_pool = threads.compute_pool  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=5)
    parser.add_argument("--qubits", type=int, default=20)
    parser.add_argument("--layers", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    circuit = slow_circuit(args.qubits, args.layers)
    separate = threads.io_pool
    layouts = {
        "one pool": 0.005,
        "compute + I/O pools": 0.005,
        "compute + I/O pools, GIL handed over every 1 ms": threads.SWITCH_INTERVAL_S,
    }
    rows: dict[str, list[tuple[list[float], float]]] = {layout: [] for layout in layouts}
    with tempfile.TemporaryDirectory(prefix="dunes-bench-") as tmp:
        for round_ in range(args.rounds):
            for layout in rows:
                os.environ["DUNES_DATA_DIR"] = str(Path(tmp) / f"{layout}-{round_}")
                threads.io_pool = separate  # type: ignore[assignment]
                threads._io_pool = None
                threads._pool = None  # each layout starts with threads of its own
                if layout == "one pool":
                    one_pool()
                threads.compute_pool()
                sys.setswitchinterval(layouts[layout])
                rows[layout].append(asyncio.run(probe_under_load(args.busy, circuit)))
    print(
        f"GET /v1/jobs while {args.busy} x POST /v1/simulate ({args.qubits} qubits, "
        f"{args.qubits * args.layers} gates) run; {threads.COMPUTE_THREADS} compute threads, "
        f"{os.cpu_count()} cores; {args.rounds} rounds, layouts taking turns\n"
    )
    print("| layout | probes | median ms | p90 ms | max ms | load wall s |")
    print("|---|---|---|---|---|---|")
    summary: dict[str, tuple[float, float]] = {}
    for layout, runs in rows.items():
        latencies = [x * 1000 for lat, _ in runs for x in lat]
        ordered = sorted(latencies)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        wall = statistics.median(w for _, w in runs)
        summary[layout] = (statistics.median(latencies), max(latencies))
        print(
            f"| {layout} | {len(latencies)} | {statistics.median(latencies):.1f} | {p90:.1f} "
            f"| {max(latencies):.1f} | {wall:.1f} |"
        )
    before = summary["one pool"]
    print("\nratio one pool / layout (above 1: the layout answers faster)\n")
    print("| layout | median | max |")
    print("|---|---|---|")
    for layout, (median, worst) in summary.items():
        print(f"| {layout} | {before[0] / median:.1f}x | {before[1] / worst:.1f}x |")


if __name__ == "__main__":
    main()
