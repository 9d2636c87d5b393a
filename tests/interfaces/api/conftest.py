"""Fixtures of the REST gateway tests: the app in process and a real ``dunes serve``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from dunes.config import Settings, get_settings
from dunes.interfaces.api import create_app

ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def make_client() -> ClientFactory:
    """``async with make_client(settings=..., require_api_keys=...) as client``."""

    @asynccontextmanager
    async def factory(
        settings: Settings | None = None, **kwargs: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings or get_settings(), **kwargs)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        ):
            yield client

    return factory


@pytest.fixture
async def client(make_client: ClientFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as c:
        yield c


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], deadline_s: float = 60) -> None:
    """Poll /healthz until it answers 200, the process dies, or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dunes serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{base_url}/healthz did not answer within {deadline_s} s")


def dunes_executable() -> str:
    candidate = Path(sys.executable).with_name("dunes")
    return str(candidate) if candidate.exists() else "dunes"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A real ``dunes serve`` on a free loopback port; yields its base URL."""
    port = free_port()
    env = dict(os.environ)
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [dunes_executable(), "serve", "--port", str(port), "--no-access-log"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_healthy(base_url, process)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}\n{(tmp_path / 'serve.log').read_text()}") from exc
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
