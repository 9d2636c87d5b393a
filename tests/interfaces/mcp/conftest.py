"""Fixtures for the MCP server: in-memory clients, a real HTTP server process, helpers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dunes.config import Settings
from dunes.interfaces.mcp import DunesServer, create_server

API_KEY = "test-token-7f3a"


def dunes_executable() -> str:
    """The ``dunes`` script of this interpreter's environment."""
    candidate = Path(sys.executable).parent / "dunes"
    found = str(candidate) if candidate.exists() else shutil.which("dunes")
    if not found:
        pytest.fail("the dunes command is not installed (pip install -e .)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes], *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not healthy after {timeout} s")


@pytest.fixture
def server(settings: Settings) -> Iterator[DunesServer]:
    mcp_server = create_server(settings)
    yield mcp_server
    mcp_server.close()


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``dunes mcp --http`` process requiring a bearer token; yields its base URL."""
    data_dir = tmp_path_factory.mktemp("mcp-http")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUNES_")}
    env.update(
        DUNES_DATA_DIR=str(data_dir),
        DUNES_CONFIG=str(data_dir / "absent.toml"),
        DUNES_API__API_KEYS=f'["{API_KEY}"]',
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    port = free_port()
    with (data_dir / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [dunes_executable(), "mcp", "--http", "--port", str(port), "--require-token"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(f"{base}/healthz", process)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
