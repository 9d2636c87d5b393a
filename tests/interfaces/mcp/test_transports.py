"""The real transports: ``dunes mcp`` over stdio and ``dunes mcp --http`` with bearer tokens."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from dunes.config import Settings, get_settings
from dunes.errors import ConfigError
from dunes.interfaces.mcp import create_server
from dunes.interfaces.mcp.http import create_http_app
from dunes.services.access import AccessPolicy, is_loopback

from .conftest import API_KEY, dunes_executable

pytestmark = pytest.mark.integration

GHZ = "h(0); cx(0,1); cx(1,2)"


#: What a raw stdio client sends first: initialize (id 1), then the initialized notification.
HANDSHAKE: list[dict[str, object]] = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
]


def http_client(base: str, token: str | None = API_KEY) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = streamable_http_client(
        f"{base}/mcp",
        http_client=httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0)),
    )
    return Client(transport)


# --- the auth decision, without binding anything --------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_needs_no_token(host: str) -> None:
    assert is_loopback(host)
    assert not AccessPolicy(get_settings().api, host=host).keys.required


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org"])
def test_any_other_address_needs_a_configured_token(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ConfigError, match="api_keys"):
        AccessPolicy(get_settings().api, host=host)
    keys = AccessPolicy(get_settings(api={"api_keys": ["k1", "k2"]}).api, host=host).keys
    assert keys.required and keys.identify("Bearer k2") and keys.identify("Bearer k1")
    # Asking for no token does not lift the rule off loopback.
    with pytest.raises(ConfigError):
        AccessPolicy(get_settings().api, host=host, require_keys=False)


def test_loopback_can_require_a_token() -> None:
    with pytest.raises(ConfigError):
        AccessPolicy(get_settings().api, host="127.0.0.1", require_keys=True)


async def test_the_app_for_a_public_address_refuses_requests_without_the_token() -> None:
    server = create_server(get_settings(api={"api_keys": ["s3cret"]}))
    app = create_http_app(server, host="0.0.0.0")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dunes.test") as client:
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        assert (await client.post("/mcp", json=body)).status_code == 401
        wrong = await client.post("/mcp", json=body, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].startswith("Bearer")
        assert (await client.get("/healthz")).status_code == 200


INITIALIZE = {**HANDSHAKE[0]}
Initialize = Callable[[dict[str, str]], Awaitable[httpx.Response]]
ACCEPT = {"Accept": "application/json, text/event-stream"}


@contextlib.asynccontextmanager
async def initializer(host: str, settings: Settings) -> AsyncIterator[Initialize]:
    """A function that posts one initialize request, with given headers, to the HTTP app of a
    server bound to ``host`` (its lifespan running)."""
    server = create_server(settings)
    app = create_http_app(server, host=host)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:

                async def post(headers: dict[str, str]) -> httpx.Response:
                    return await client.post("/mcp", json=INITIALIZE, headers={**ACCEPT, **headers})

                yield post
    finally:
        server.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
async def test_every_loopback_address_refuses_a_rebound_page(host: str) -> None:
    """A page whose DNS name points at the server is refused on any loopback address (the
    SDK's own check covers three names only: 127.0.0.2 was open to any Host)."""
    async with initializer(host, get_settings()) as post:
        rebound = await post({"Host": "evil.example.com"})
        assert rebound.status_code == 421, rebound.text
        assert rebound.json()["field"] == "host"
        page = await post({"Host": "127.0.0.1:8765", "Origin": "http://evil.example.com"})
        assert page.status_code == 403 and page.json()["field"] == "origin"
        own = await post({"Host": "127.0.0.1:8765"})
        assert own.status_code == 200, own.text
        assert "serverInfo" in own.text


async def test_http_follows_the_configured_names_origins_and_rate() -> None:
    settings = get_settings(
        api={
            "allowed_hosts": ["dunes.lan"],
            "cors_origins": ["https://app.example.org"],
            "rate_limit_per_minute": 2,
        }
    )
    async with initializer("127.0.0.1", settings) as post:
        named = await post({"Host": "dunes.lan:8765"})
        assert named.status_code == 200, named.text
        allowed = await post({"Host": "dunes.lan:8765", "Origin": "https://app.example.org"})
        assert allowed.status_code == 200, allowed.text
        limited = await post({"Host": "dunes.lan:8765"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_cli_refuses_a_public_address_without_keys() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DUNES_API__API_KEYS"}
    done = subprocess.run(
        [dunes_executable(), "mcp", "--http", "--host", "0.0.0.0", "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "api_keys" in done.stderr
    assert done.stdout == ""


# --- stdio -----------------------------------------------------------------------------------


async def test_stdio_subprocess_serves_tools() -> None:
    params = StdioServerParameters(command=dunes_executable(), args=["mcp"], env=dict(os.environ))
    async with Client(params) as client:
        assert client.server_info is None or client.server_info.name == "dunes"
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"simulate_circuit", "orchestrate", "run_maml"} <= names
        bad = await client.call_tool("simulate_circuit", {"circuit": GHZ, "shots": -1})
        assert bad.is_error
        result = await client.call_tool(
            "simulate_circuit", {"circuit": GHZ, "shots": 100, "seed": 1}
        )
        assert not result.is_error
        assert result.structured_content is not None
        assert sum(result.structured_content["counts"].values()) == 100


def test_stdio_stdout_carries_only_protocol_messages(tmp_path: Path) -> None:
    messages = [
        *HANDSHAKE,
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "simulate_circuit", "arguments": {"circuit": "h(0); bogus(1)"}},
        },
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "simulate_circuit", "arguments": {"circuit": GHZ}},
        },
    ]
    stderr = (tmp_path / "stderr.log").open("wb")
    process = subprocess.Popen(
        [dunes_executable(), "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env={**os.environ, "DUNES_LOG_LEVEL": "DEBUG"},
    )
    watchdog = threading.Timer(180, process.kill)  # a hung server fails the test, not the run
    watchdog.start()
    assert process.stdin is not None and process.stdout is not None
    for message in messages:
        process.stdin.write((json.dumps(message) + "\n").encode())
    process.stdin.flush()
    answers: dict[int, dict[str, object]] = {}
    lines: list[bytes] = []
    try:
        while 3 not in answers:
            line = process.stdout.readline()
            assert line, f"server closed stdout early; got {lines!r}"
            lines.append(line)
            decoded = json.loads(line)  # every line must be one JSON-RPC message
            assert decoded["jsonrpc"] == "2.0"
            if "id" in decoded:
                answers[decoded["id"]] = decoded
    finally:
        watchdog.cancel()
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        stderr.close()
    assert b"DEBUG" in (tmp_path / "stderr.log").read_bytes()  # logs went to stderr
    assert answers[2]["result"]["isError"] is True  # type: ignore[index]
    assert answers[3]["result"]["structuredContent"]["num_qubits"] == 3  # type: ignore[index]


# --- streamable HTTP -------------------------------------------------------------------------


def test_http_server_requires_the_token(http_server: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Accept": "application/json, text/event-stream"}
    assert httpx.post(f"{http_server}/mcp", json=body, headers=headers).status_code == 401
    assert httpx.get(f"{http_server}/healthz").json()["status"] == "ok"


async def test_http_server_serves_tools_and_progress(http_server: str) -> None:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with http_client(http_server) as client:
        bad = await client.call_tool("simulate_circuit", {"circuit": GHZ, "top": "lots"})
        assert bad.is_error
        good = await client.call_tool("simulate_circuit", {"circuit": GHZ})
        assert good.structured_content is not None
        assert good.structured_content["probabilities"] == pytest.approx({"000": 0.5, "111": 0.5})
        ran = await client.call_tool(
            "run_maml",
            {"example": "beluga_multi_gpu", "block": "ghz"},
            progress_callback=on_progress,
        )
        assert not ran.is_error, ran.content
        assert progress == sorted(progress) and progress[-1] == 1.0


async def test_twenty_concurrent_http_calls_all_answer_correctly(http_server: str) -> None:
    answers: dict[int, dict[str, int]] = {}

    async with http_client(http_server) as client:

        async def one(i: int) -> None:
            # x on the qubits of i's binary digits: the only outcome is i itself.
            gates = [f"x({q})" for q in range(5) if i >> q & 1] or ["id(0)"]
            result = await client.call_tool(
                "simulate_circuit",
                {"circuit": "; ".join(gates), "num_qubits": 5, "shots": 50, "histogram": False},
            )
            assert not result.is_error, result.content
            assert result.structured_content is not None
            answers[i] = result.structured_content["counts"]

        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                for i in range(20):
                    tg.start_soon(one, i)

    assert len(answers) == 20
    for i, counts in answers.items():
        assert counts == {format(i, "05b"): 50}


def test_sigterm_stops_a_stdio_server_and_its_workers(tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    with (tmp_path / "stderr.log").open("wb") as log:
        process = subprocess.Popen(
            [dunes_executable(), "mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=dict(os.environ),
        )
    watchdog = threading.Timer(180, process.kill)
    watchdog.start()
    assert process.stdin is not None and process.stdout is not None
    calls = [
        *HANDSHAKE,
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "orchestrate", "arguments": {"task": "GHZ", "wait": False}},
        },
    ]
    try:
        for message in calls:
            process.stdin.write((json.dumps(message) + "\n").encode())
        process.stdin.flush()
        while json.loads(process.stdout.readline()).get("id") != 2:
            pass
        children = psutil.Process(process.pid).children(recursive=True)
        assert children, "the job should have started a worker process"
        process.terminate()
        assert process.wait(timeout=60) == 0
        _, alive = psutil.wait_procs(children, timeout=30)
        assert not alive
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdin.close()
        process.stdout.close()
