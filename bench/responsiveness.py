"""REST gateway under load: how fast it says where jobs stand while simulations run.

Run: ``python bench/responsiveness.py [--busy 5] [--qubits 20] [--layers 120] [--rounds 2]``

Each layout is a real server process (uvicorn on a free loopback port, its own SQLite store,
the local executor); this process is only the client, so a server that stops answering cannot
stop the clock. ``--busy`` clients each keep the server busy with a slow non-Clifford
``--qubits`` circuit (counts only), in one of two ways:

- "waits": ``POST /v1/jobs?wait=true`` -- the job runs in a worker process, the server's thread
  waits for it (what the seed endpoint and every ``wait=true`` call do);
- "simulate": ``POST /v1/simulate`` -- the simulation runs in the server process itself.

Meanwhile a probe sends ``GET /v1/jobs`` every 50 ms on a fixed schedule (not waiting for the
previous answer), as users would, and times each answer. Two layouts take turns: "one pool"
runs every blocking call on the compute threads (how the servers ran before), "compute + I/O
pools" runs calls marked ``io_bound`` (job state, lists, the graph, waits) on threads of their
own (how they run now).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from dunes.services.threads import COMPUTE_THREADS
from servers import free_port, server_env, wait_healthy

#: The server of one layout: the app as ``dunes serve`` builds it, the threads as asked.
SERVER = """
import sys
import uvicorn
from dunes.services import threads
layout, port = sys.argv[1], int(sys.argv[2])
if layout == "one pool":
    threads.io_pool = threads.compute_pool
from dunes.config import get_settings
from dunes.interfaces.api import create_app
app = create_app(get_settings())
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""

LAYOUTS = ("one pool", "compute + I/O pools")


def slow_circuit(num_qubits: int, layers: int) -> str:
    return "; ".join(
        f"rx({0.1 * (i + 1)},{q})" if (i + q) % 2 else f"cx({q},{(q + 1) % num_qubits})"
        for i in range(layers)
        for q in range(num_qubits)
    )


def start_server(layout: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**server_env(data_dir), "DUNES_RUNTIME__ENABLED": "false"}
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, layout, str(port)], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(process, base, f"the {layout!r} server (log: {data_dir / 'server.log'})")
    return process, base


LOADS = ("waits", "simulate")


async def probe_under_load(
    base: str, load_kind: str, busy: int, circuit: str
) -> tuple[list[float], float]:
    """Latencies of ``GET /v1/jobs`` sent every 50 ms while ``busy`` requests of ``load_kind``
    run, and the load's wall time."""
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=limits) as client:

        async def busy_request() -> httpx.Response:
            if load_kind == "waits":
                return await client.post(
                    "/v1/jobs", params={"wait": "true"}, json={"circuit": circuit, "shots": 100}
                )
            body = {"circuit": circuit, "shots": 100, "statevector": False}
            return await client.post("/v1/simulate", json=body)

        (await busy_request()).raise_for_status()  # warm-up: the worker, the caches
        latencies: list[float] = []

        async def probe() -> None:
            asked = time.perf_counter()
            (await client.get("/v1/jobs")).raise_for_status()
            latencies.append(time.perf_counter() - asked)

        started = time.perf_counter()
        load = [asyncio.create_task(busy_request()) for _ in range(busy)]
        probes = []
        while not all(task.done() for task in load):
            probes.append(asyncio.create_task(probe()))
            await asyncio.sleep(0.05)
        wall = time.perf_counter() - started
        await asyncio.gather(*probes)
        for task in load:
            task.result().raise_for_status()
        return latencies, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=5)
    parser.add_argument("--qubits", type=int, default=20)
    parser.add_argument("--layers", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    circuit = slow_circuit(args.qubits, args.layers)
    print(
        f"GET /v1/jobs every 50 ms while {args.busy} requests of a {args.qubits}-qubit, "
        f"{args.qubits * args.layers}-gate circuit run; server in its own process, "
        f"{COMPUTE_THREADS} compute threads, {os.cpu_count()} cores; {args.rounds} rounds, "
        "layouts taking turns"
    )
    for load_kind in LOADS:
        rows: dict[str, list[tuple[list[float], float]]] = {layout: [] for layout in LAYOUTS}
        with tempfile.TemporaryDirectory(prefix="dunes-bench-") as tmp:
            for round_ in range(args.rounds):
                for index, layout in enumerate(LAYOUTS):
                    process, base = start_server(layout, Path(tmp) / f"{index}-{round_}")
                    try:
                        measured = probe_under_load(base, load_kind, args.busy, circuit)
                        rows[layout].append(asyncio.run(measured))
                    finally:
                        process.terminate()
                        process.wait(30)
        print(f"\n### load: {load_kind}\n")
        report(rows)


def report(rows: dict[str, list[tuple[list[float], float]]]) -> None:
    print("| layout | probes | median ms | p90 ms | max ms | load wall s |")
    print("|---|---|---|---|---|---|")
    summary: dict[str, tuple[float, float, float]] = {}
    for layout, runs in rows.items():
        latencies = sorted(x * 1000 for lat, _ in runs for x in lat)
        p90 = latencies[min(len(latencies) - 1, int(0.9 * len(latencies)))]
        wall = statistics.median(w for _, w in runs)
        summary[layout] = (statistics.median(latencies), p90, latencies[-1])
        print(
            f"| {layout} | {len(latencies)} | {statistics.median(latencies):.0f} | {p90:.0f} "
            f"| {latencies[-1]:.0f} | {wall:.1f} |"
        )
    before = summary["one pool"]
    print("\nratio one pool / layout (above 1: the layout answers faster)\n")
    print("| layout | median | p90 | max |")
    print("|---|---|---|---|")
    for layout, (median, p90, worst) in summary.items():
        print(
            f"| {layout} | {before[0] / median:.1f}x | {before[1] / p90:.1f}x "
            f"| {before[2] / worst:.1f}x |"
        )


if __name__ == "__main__":
    main()
