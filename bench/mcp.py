"""MCP round trips: ``simulate_circuit`` on a 3-qubit circuit over stdio and streamable HTTP
against the same work called in-process.

Rows: the service call itself (``services.simulation.simulate_circuit`` plus the tool's output
model), the MCP server object through an in-memory client, a ``dunes mcp`` subprocess over stdio,
and ``dunes mcp --http`` over loopback HTTP (stateless, one JSON-RPC request per call). Each row
is ``--calls`` sequential calls after ``--warmup`` unmeasured ones, the paths interleaved in
blocks of 10 calls; p50/p99 in milliseconds and the ratio to the in-process call.

    python bench/mcp.py [--calls 200] [--warmup 20] [--histogram] [--record]

By default neither the histogram PNG is drawn nor the run recorded in the graph (a SQLite commit
per call), so the rows differ by the transport alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

# Run as `python bench/mcp.py`, this folder comes first on sys.path and this file's name would
# hide the MCP SDK; drop the folder before anything imports `mcp`.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import anyio  # noqa: E402
import httpx  # noqa: E402
from mcp.client.client import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402

from dunes.config import get_settings  # noqa: E402
from dunes.interfaces.mcp import create_server  # noqa: E402
from dunes.quantum import SimulationOptions  # noqa: E402
from dunes.services.public import public_simulation  # noqa: E402
from dunes.services.simulation import histogram_png, simulate_circuit  # noqa: E402

CIRCUIT = "h(0); cx(0,1); cx(1,2)"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def measure(
    paths: dict[str, Callable[[], Awaitable[None]]], calls: int, warmup: int, block: int = 10
) -> dict[str, list[float]]:
    """Time every path, interleaved in blocks so drifting load on shared cores hits all alike."""
    for call in paths.values():
        for _ in range(warmup):
            await call()
    out: dict[str, list[float]] = {name: [] for name in paths}
    while any(len(v) < calls for v in out.values()):
        for name, call in paths.items():
            for _ in range(min(block, calls - len(out[name]))):
                start = time.perf_counter()
                await call()
                out[name].append((time.perf_counter() - start) * 1000)
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dunes_command() -> str:
    candidate = Path(sys.executable).parent / "dunes"
    return str(candidate) if candidate.exists() else (shutil.which("dunes") or "dunes")


async def run(calls: int, warmup: int, histogram: bool, record: bool) -> dict[str, list[float]]:
    data_dir = Path(tempfile.mkdtemp(prefix="dunes-bench-mcp-"))
    env = {**os.environ, "DUNES_DATA_DIR": str(data_dir), "DUNES_LOG_LEVEL": "WARNING"}
    os.environ["DUNES_DATA_DIR"] = str(data_dir)
    settings = get_settings()
    arguments = {
        "circuit": CIRCUIT,
        "shots": 1000,
        "seed": 7,
        "histogram": histogram,
        "record": record,
    }

    async def direct() -> None:
        def work() -> None:
            result = simulate_circuit(
                settings=settings,
                circuit=CIRCUIT,
                options=SimulationOptions(shots=1000, seed=7),
                record=record,
            ).result
            public_simulation(result, origin="network", top=16)
            if histogram:
                histogram_png(result)

        await anyio.to_thread.run_sync(work)

    server = create_server(settings)

    def checked(client: Client) -> Callable[[], Awaitable[None]]:
        async def call() -> None:
            result = await client.call_tool("simulate_circuit", arguments)
            assert not result.is_error and result.structured_content is not None
            assert sum(result.structured_content["counts"].values()) == 1000

        return call

    port = free_port()
    process = subprocess.Popen(
        [dunes_command(), "mcp", "--http", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    params = StdioServerParameters(command=dunes_command(), args=["mcp"], env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            await anyio.sleep(0.2)
        async with (
            Client(server) as memory,
            Client(params) as stdio,
            Client(f"http://127.0.0.1:{port}/mcp") as http,
        ):
            results = await measure(
                {
                    "in-process call": direct,
                    "MCP in-memory": checked(memory),
                    "MCP stdio": checked(stdio),
                    "MCP streamable HTTP": checked(http),
                },
                calls,
                warmup,
            )
    finally:
        server.close()
        process.terminate()
        process.wait(timeout=30)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--histogram", action="store_true", help="Also render the histogram PNG (tool default)."
    )
    parser.add_argument(
        "--record", action="store_true", help="Record each run in the graph (tool default)."
    )
    args = parser.parse_args()
    results = anyio.run(run, args.calls, args.warmup, args.histogram, args.record)
    base_p50 = statistics.median(results["in-process call"])
    base_p99 = percentile(results["in-process call"], 99)
    extras = [
        ("with" if args.histogram else "without") + " the histogram PNG",
        ("recorded" if args.record else "not recorded") + " in the graph",
    ]
    print(
        f"simulate_circuit `{CIRCUIT}`, 1000 shots, {', '.join(extras)}; "
        f"{args.calls} sequential calls per path after {args.warmup} warm-up, interleaved\n"
    )
    print("| path | p50 ms | p99 ms | mean ms | p50 / in-process | p99 / in-process |")
    print("|---|---|---|---|---|---|")
    for name, values in results.items():
        p50, p99 = statistics.median(values), percentile(values, 99)
        print(
            f"| {name} | {p50:.2f} | {p99:.2f} | {statistics.fmean(values):.2f} | "
            f"{p50 / base_p50:.2f}x | {p99 / base_p99:.2f}x |"
        )


if __name__ == "__main__":
    main()
