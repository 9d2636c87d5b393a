"""What the benchmarks that start a dunes server share: a free port, a clean environment, and
the wait until it answers."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(data_dir: Path) -> dict[str, str]:
    """This environment without ``DUNES_*``, then a data directory of its own, no settings
    file and the rate limit lifted."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUNES_")}
    env.update(
        DUNES_DATA_DIR=str(data_dir),
        DUNES_CONFIG=str(data_dir / "absent.toml"),
        DUNES_API__RATE_LIMIT_PER_MINUTE="1000000000",
    )
    return env


def wait_healthy(process: subprocess.Popen[bytes], base: str, what: str) -> None:
    """Return once ``base``/healthz answers 200; exit the benchmark if ``process`` ends first or
    2 minutes pass."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{what} did not become healthy within 120 s")
