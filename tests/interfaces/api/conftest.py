"""Fixtures of the REST gateway tests: the app in process and a real ``dunes serve``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
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
            httpx.AsyncClient(transport=transport, base_url="http://localhost") as client,
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


def clean_environment(data_dir: Path) -> dict[str, str]:
    """This process's environment without DUNES_* settings, with its own data directory."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DUNES_") or k.startswith("DUNES_TEST_")
    }
    env["DUNES_DATA_DIR"] = str(data_dir)
    env["DUNES_CONFIG"] = str(data_dir / "absent.toml")
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_OFFLINE"] = "1"
    env["DUNES_RUNTIME__ENABLED"] = "false"  # tests of the runtime turn it on
    return env


@contextmanager
def serve(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``dunes serve`` on a free loopback port until the block ends; yield its base URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = data_dir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [dunes_executable(), "serve", "--port", str(port), "--no-access-log", *args],
            env={**clean_environment(data_dir), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_healthy(base_url, process)
            except (RuntimeError, TimeoutError) as exc:
                raise RuntimeError(f"{exc}\n{log_path.read_text()}") from exc
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real ``dunes serve`` for the module; yields its base URL."""
    with serve(tmp_path_factory.mktemp("serve")) as base_url:
        yield base_url
