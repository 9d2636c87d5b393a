"""HTTP load on a real ``dunes serve``: concurrent clients on /v1/simulate and /v1/jobs for a
fixed time; errors, p50/p99 latency, and the server's memory before and after.

    python bench/security/load.py --clients 50 --seconds 60

Each client loops: simulate a small circuit (sampled), or (one request in four) submit a circuit
job and read its status. The server's rate limit is lifted for the run (every client shares one
address). Memory is the server's resident set (its workers apart) after a warm-up run of the
same load, and again after the measured run and a few idle seconds.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.interfaces.api.conftest import clean_environment, dunes_executable, free_port


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def client(
    base: str, until: float, latencies: list[float], errors: list[str], n: int
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        i = 0
        while time.monotonic() < until:
            i += 1
            started = time.perf_counter()
            try:
                if (i + n) % 4:
                    r = await http.post(
                        "/v1/simulate", json={"circuit": "h(0); cx(0,1); measure", "shots": 100}
                    )
                    ok = r.status_code == 200
                else:
                    r = await http.post("/v1/jobs", json={"circuit": f"x({i % 3}); h(3)"})
                    ok = r.status_code in (200, 202)
                    if ok:
                        s = await http.get(f"/v1/jobs/{r.json()['job_id']}")
                        ok = s.status_code == 200
                if not ok:
                    errors.append(f"{r.status_code} {r.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            latencies.append(time.perf_counter() - started)


async def load(base: str, clients: int, seconds: float) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    until = time.monotonic() + seconds
    await asyncio.gather(*(client(base, until, latencies, errors, n) for n in range(clients)))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=15)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="dunes-load-"))
    port = free_port()
    env = {**clean_environment(data_dir), "DUNES_API__RATE_LIMIT_PER_MINUTE": "100000000"}
    log = (data_dir / "serve.log").open("wb")
    server = subprocess.Popen(
        [dunes_executable(), "serve", "--port", str(port), "--no-access-log"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        asyncio.run(load(base, args.clients, args.warmup))
        time.sleep(3)
        before = rss_mib(server.pid)
        latencies, errors = asyncio.run(load(base, args.clients, args.seconds))
        time.sleep(5)
        after = rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(30)
    ordered = sorted(latencies)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    print(f"{args.clients} clients, {args.seconds:g} s, {os.cpu_count()} cores")
    print(
        "| requests | errors | req/s | p50 ms | p99 ms | max ms | server RSS before MiB | after MiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {len(latencies)} | {len(errors)} | {len(latencies) / args.seconds:.0f} | {p(0.5):.0f} "
        f"| {p(0.99):.0f} | {ordered[-1] * 1000:.0f} | {before:.0f} | {after:.0f} |"
    )
    print(f"mean {statistics.fmean(latencies) * 1000:.0f} ms")
    for error in errors[:10]:
        print("error:", error)


if __name__ == "__main__":
    main()
