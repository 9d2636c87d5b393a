"""A real ``dunes serve`` process (uvicorn) on a free loopback port."""

from __future__ import annotations

import json
import shutil
import subprocess

import httpx
import pytest

from tests.interfaces.api.conftest import dunes_executable, free_port

pytestmark = pytest.mark.integration


def test_serve_answers_over_http(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        response = client.post("/v1/simulate", json={"circuit": "h(0); cx(0,1)", "shots": 0})
        assert response.status_code == 200
        assert response.json()["probabilities"] == pytest.approx({"00": 0.5, "11": 0.5})
        problem = client.post("/v1/simulate", json={"circuit": "cx(0)"})
        assert problem.status_code == 422
        assert problem.headers["content-type"].startswith("application/problem+json")
        assert "dunes_http_requests_total" in client.get("/metrics").text
        assert client.get("/openapi.json").json()["info"]["title"] == "dunes"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_simulate(server: str) -> None:
    output = subprocess.run(
        [
            "curl", "-sS", "-X", "POST", f"{server}/v1/simulate",
            "-H", "Content-Type: application/json",
            "-d", '{"circuit": "h(0); cx(0,1); cx(1,2)", "shots": 100, "seed": 1}',
        ],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    body = json.loads(output)
    assert set(body["counts"]) <= {"000", "111"}
    assert sum(body["counts"].values()) == 100


def test_serve_off_loopback_without_keys_refuses_to_start() -> None:
    process = subprocess.run(
        [dunes_executable(), "serve", "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 1
    assert "DUNES_API__API_KEYS" in process.stderr
