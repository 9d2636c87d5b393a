"""A real ``dunes serve`` process (uvicorn) on a free loopback port, driven by real clients."""

from __future__ import annotations

import json
import shutil
import subprocess

import httpx
import pytest

from tests.interfaces.api.conftest import dunes_executable, free_port

pytestmark = pytest.mark.integration

needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def curl(*args: str) -> str:
    return subprocess.run(
        ["curl", "-sS", *args], capture_output=True, text=True, check=True, timeout=300
    ).stdout


def test_serve_answers_over_http(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        response = client.post("/v1/simulate", json={"circuit": "h(0); cx(0,1)", "shots": 0})
        assert response.status_code == 200
        assert response.json()["probabilities"] == pytest.approx({"00": 0.5, "11": 0.5})
        problem = client.post("/v1/simulate", json={"circuit": "cx(0)"})
        assert problem.status_code == 422
        assert problem.headers["content-type"].startswith("application/problem+json")
        assert client.get("/openapi.json").json()["info"]["title"] == "dunes"


@needs_curl
def test_seed_curl_verbatim(server: str) -> None:
    """The seed's own example, with only the host and port changed."""
    output = curl(
        "-X", "POST", f"{server}/orchestrate-quantum-simulation",
        "-H", "Content-Type: application/json",
        "-d", '{"task":"Design a 4-qubit GHZ state"}',
    )  # fmt: skip
    body = json.loads(output)
    assert body["circuit"] == "h(0); cx(0,1); cx(1,2); cx(2,3)", output
    amplitudes = [complex(re, im) for re, im in body["statevector"]]
    assert len(amplitudes) == 16
    assert abs(amplitudes[0]) ** 2 == pytest.approx(0.5)
    assert abs(amplitudes[15]) ** 2 == pytest.approx(0.5)
    assert set(body["llm_outputs"]) == {"planner", "extraction", "validation", "synthesis"}
    assert body["job_id"]
    job = httpx.get(f"{server}/v1/jobs/{body['job_id']}", timeout=30).json()
    assert job["status"] == "succeeded"


@needs_curl
def test_curl_simulate(server: str) -> None:
    output = curl(
        "-X", "POST", f"{server}/v1/simulate",
        "-H", "Content-Type: application/json",
        "-d", '{"circuit": "h(0); cx(0,1); cx(1,2)", "shots": 100, "seed": 1}',
    )  # fmt: skip
    body = json.loads(output)
    assert set(body["counts"]) <= {"000", "111"}
    assert sum(body["counts"].values()) == 100


def test_sse_over_http(server: str) -> None:
    with httpx.Client(base_url=server, timeout=60) as client:
        job_id = client.post("/v1/jobs", json={"circuit": "h(0); cx(0,1)"}).json()["job_id"]
        seen: list[str] = []
        data: list[dict] = []
        with client.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    seen.append(line.split(":", 1)[1].strip())
                elif line.startswith("data:"):
                    data.append(json.loads(line.split(":", 1)[1]))
        assert seen[-1] == "end"
        assert "progress" in seen
        assert data[-1]["status"] == "succeeded"
        assert max(d["progress"] for d in data) == 1.0
        metrics = client.get("/metrics").text
        assert 'dunes_jobs{state="succeeded"}' in metrics
        assert 'route="/v1/jobs/{job_id}/events"' in metrics


def test_serve_off_loopback_without_keys_refuses_to_start() -> None:
    process = subprocess.run(
        [dunes_executable(), "serve", "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 1
    assert "DUNES_API__API_KEYS" in process.stderr
