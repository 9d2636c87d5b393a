"""REST gateway: ``POST /v1/simulate`` over HTTP (a real uvicorn process) against the in-process call.

Run: ``python bench/api.py [--requests 320] [--clients 1 8 32]``

The server is ``dunes serve`` on a free loopback port with its own data directory (SQLite store,
every simulation recorded in the graph, as by default) and the rate limit lifted. Clients are
``httpx.AsyncClient`` coroutines in this process, each sending its requests one after the other
over a kept-alive connection. The in-process side calls ``dunes.services.simulation.
simulate_circuit`` (what the endpoint calls) from as many threads as there are clients, with the
same settings; "in-process, no record" skips the graph write (``record=False``) to show what
recording costs. The circuit is a 3-qubit GHZ state, statevector returned. Latency is per request
(p50 and p99); throughput is requests completed per second of wall time. Each cell starts after
a warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from servers import free_port, server_env, wait_healthy

CIRCUIT = "h(0); cx(0,1); cx(1,2)"
BODY = {"circuit": CIRCUIT, "shots": 0}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "serve.log").open("wb")
    port = free_port()
    dunes = Path(sys.executable).with_name("dunes")
    process = subprocess.Popen(
        [str(dunes), "serve", "--port", str(port), "--no-access-log", "--log-level", "warning"],
        env=server_env(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(process, base, "dunes serve")
    return process, base


async def http_cell(base: str, clients: int, total: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    per_client = max(1, total // clients)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

        async def worker() -> None:
            for _ in range(per_client):
                started = time.perf_counter()
                response = await client.post("/v1/simulate", json=BODY)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"HTTP {response.status_code}: {response.text}")

        await asyncio.gather(*(worker() for _ in range(clients)))  # warm-up: connections, caches
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - started
    return latencies, wall


def inprocess_cell(
    pool: ThreadPoolExecutor, clients: int, total: int, *, record: bool = True
) -> tuple[list[float], float]:
    from dunes.config import get_settings
    from dunes.quantum import SimulationOptions
    from dunes.services.simulation import simulate_circuit

    settings = get_settings()
    options = SimulationOptions(shots=0)
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = max(1, total // clients)

    def worker() -> None:
        for _ in range(per_client):
            started = time.perf_counter()
            simulate_circuit(settings=settings, circuit=CIRCUIT, options=options, record=record)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)

    list(pool.map(lambda _: worker(), range(clients)))  # warm-up
    latencies.clear()
    started = time.perf_counter()
    list(pool.map(lambda _: worker(), range(clients)))
    wall = time.perf_counter() - started
    return latencies, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=320, help="Requests per cell.")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()

    rows: list[tuple[str, int, int, float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DUNES_DATA_DIR"] = str(Path(tmp) / "inprocess")
        os.environ["DUNES_CONFIG"] = str(Path(tmp) / "absent.toml")
        process, base = start_server(Path(tmp) / "server")
        # One pool for every cell: its threads live until the end (Qiskit crashes in a fresh
        # thread after another thread that ran it has exited, once torch is loaded).
        pool = ThreadPoolExecutor(max(args.clients))
        try:
            for clients in args.clients:
                sides = ["in-process", "HTTP"] + (["in-process, no record"] if clients == 1 else [])
                for side in sides:
                    if side == "HTTP":
                        lat, wall = asyncio.run(http_cell(base, clients, args.requests))
                    else:
                        lat, wall = inprocess_cell(
                            pool, clients, args.requests, record=side == "in-process"
                        )
                    rows.append(
                        (
                            side,
                            clients,
                            len(lat),
                            percentile(lat, 50) * 1e3,
                            percentile(lat, 99) * 1e3,
                            len(lat) / wall,
                        )
                    )
                    print(
                        f"{side:22} clients={clients:3} p50={rows[-1][3]:.2f} ms "
                        f"p99={rows[-1][4]:.2f} ms {rows[-1][5]:.0f} req/s",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            pool.shutdown()
            process.terminate()
            process.wait(timeout=30)

    print(f"\nPOST /v1/simulate, 3-qubit GHZ statevector, {os.cpu_count()} CPU cores\n")
    print("| clients | side | requests | p50 ms | p99 ms | throughput req/s |")
    print("|---|---|---|---|---|---|")
    for side, clients, count, p50, p99, rate in rows:
        print(f"| {clients} | {side} | {count} | {p50:.2f} | {p99:.2f} | {rate:.0f} |")
    print("\nratio HTTP / in-process (latency: above 1 is slower; throughput: below 1 is fewer)\n")
    print("| clients | p50 | p99 | throughput |")
    print("|---|---|---|---|")
    by = {(side, clients): (p50, p99, rate) for side, clients, _, p50, p99, rate in rows}
    for clients in args.clients:
        local = by[("in-process", clients)]
        remote = by[("HTTP", clients)]
        print(
            f"| {clients} | {remote[0] / local[0]:.2f}x | {remote[1] / local[1]:.2f}x "
            f"| {remote[2] / local[2]:.2f}x |"
        )
    print(
        f"\nmedian of all HTTP p50s: {statistics.median(r[3] for r in rows if r[0] == 'HTTP'):.2f} ms"
    )


if __name__ == "__main__":
    main()
