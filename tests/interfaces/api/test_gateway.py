"""The gateway in process: simulation, problem details, keys, limits, metrics, artifacts."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest

from dunes.config import get_settings
from dunes.errors import ConfigError
from dunes.interfaces.api import create_app
from dunes.services.access import hash_key, keys_required_for
from tests.interfaces.api.conftest import ClientFactory

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "field"}


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["type"].startswith("urn:dunes:problem:")
    if field is not None:
        assert body["field"] == field
    return body


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_simulate_ghz_statevector(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/simulate", json={"circuit": "h(0); cx(0,1); cx(1,2)"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["num_qubits"] == 3
    state = np.array([complex(re, im) for re, im in body["statevector"]])
    expected = np.zeros(8, dtype=complex)
    expected[0] = expected[7] = 2**-0.5
    assert np.allclose(state, expected)
    assert body["probabilities"] == pytest.approx({"000": 0.5, "111": 0.5})


async def test_simulate_counts_with_seed_and_json_gates(client: httpx.AsyncClient) -> None:
    body = {
        "circuit": [{"gate": "h", "qubits": [0]}, {"gate": "cx", "qubits": [0, 1]}],
        "shots": 200,
        "seed": 7,
    }
    first = (await client.post("/v1/simulate", json=body)).json()
    second = (await client.post("/v1/simulate", json=body)).json()
    assert sum(first["counts"].values()) == 200
    assert set(first["counts"]) <= {"00", "11"}
    assert first["counts"] == second["counts"]


async def test_bad_circuit_is_a_problem_naming_the_field(client: httpx.AsyncClient) -> None:
    body = assert_problem(
        await client.post("/v1/simulate", json={"circuit": "h(0); foo(1)"}), 422, "circuit"
    )
    assert "foo" in body["detail"]
    assert body["instance"] == "/v1/simulate"


async def test_schema_violation_and_malformed_json(client: httpx.AsyncClient) -> None:
    body = assert_problem(
        await client.post("/v1/simulate", json={"circuit": "h(0)", "shots": -1}), 422, "shots"
    )
    assert "shots" in body["detail"]
    assert_problem(await client.post("/v1/simulate", json={"shots": 1}), 422, "circuit")
    assert_problem(
        await client.post("/v1/simulate", json={"circuit": "h(0)", "unknown": 1}), 422, "unknown"
    )
    assert_problem(
        await client.post(
            "/v1/simulate", content=b'{"circuit": ', headers={"content-type": "application/json"}
        ),
        400,
        "body",
    )


async def test_unknown_route_is_a_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/nothing-here"), 404)
    assert_problem(await client.put("/healthz"), 405)


async def test_qubit_and_shot_limits_name_the_setting(make_client: ClientFactory) -> None:
    settings = get_settings(quantum={"max_qubits": 4, "max_shots": 100})
    async with make_client(settings) as client:
        wide = "; ".join(f"h({q})" for q in range(5))
        body = assert_problem(await client.post("/v1/simulate", json={"circuit": wide}), 422)
        assert "quantum.max_qubits" in body["detail"]
        body = assert_problem(
            await client.post("/v1/simulate", json={"circuit": "h(0)", "shots": 101}), 422, "shots"
        )
        assert "quantum.max_shots" in body["detail"]


async def test_body_size_limit(make_client: ClientFactory) -> None:
    settings = get_settings(api={"max_body_bytes": 200})
    async with make_client(settings) as client:
        big = {"circuit": "; ".join(["h(0)"] * 100)}
        body = assert_problem(
            await client.post("/v1/simulate", json=big), 413, "api.max_body_bytes"
        )
        assert "api.max_body_bytes" in body["detail"]

        async def chunks():  # no Content-Length: the body is counted as it arrives
            for _ in range(10):
                yield b'{"circuit": "' + b"h(0); " * 10

        response = await client.post(
            "/v1/simulate", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_problem(response, 413, "api.max_body_bytes")
        ok = await client.post("/v1/simulate", json={"circuit": "h(0)"})
        assert ok.status_code == 200


async def test_rate_limit_per_key(make_client: ClientFactory) -> None:
    settings = get_settings(api={"rate_limit_per_minute": 3})
    async with make_client(settings) as client:
        for _ in range(3):
            assert (await client.get("/v1/gpus")).status_code == 200
        response = await client.get("/v1/gpus")
        body = assert_problem(response, 429, "api.rate_limit_per_minute")
        assert "api.rate_limit_per_minute" in body["detail"]
        assert int(response.headers["retry-after"]) >= 1
        assert (await client.get("/healthz")).status_code == 200  # probes are not limited


async def test_rate_limit_is_per_key(make_client: ClientFactory) -> None:
    settings = get_settings(api={"rate_limit_per_minute": 2, "api_keys": ["alpha", "beta"]})
    async with make_client(settings, require_api_keys=True) as client:
        alpha = {"Authorization": "Bearer alpha"}
        beta = {"Authorization": "Bearer beta"}
        for _ in range(2):
            assert (await client.get("/v1/gpus", headers=alpha)).status_code == 200
        assert_problem(await client.get("/v1/gpus", headers=alpha), 429)
        assert (await client.get("/v1/gpus", headers=beta)).status_code == 200


async def test_keys_required_off_loopback(make_client: ClientFactory) -> None:
    token = "s3cret-token"
    settings = get_settings(api={"api_keys": [token, "sha256:" + hash_key("other")]})
    async with make_client(settings, require_api_keys=True) as client:
        circuit = {"circuit": "h(0)"}
        missing = await client.post("/v1/simulate", json=circuit)
        assert_problem(missing, 401, "authorization")
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = await client.post(
            "/v1/simulate", json=circuit, headers={"Authorization": "Bearer nope"}
        )
        assert_problem(wrong, 401, "authorization")
        assert token not in wrong.text
        assert_problem(await client.get("/metrics"), 401)
        ok = await client.post(
            "/v1/simulate", json=circuit, headers={"Authorization": f"Bearer {token}"}
        )
        assert ok.status_code == 200
        hashed = await client.get("/v1/gpus", headers={"Authorization": "Bearer other"})
        assert hashed.status_code == 200
        assert (await client.get("/healthz")).status_code == 200


async def test_loopback_needs_no_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/gpus", headers={"Authorization": "Bearer whatever"})
    assert response.status_code == 200


def test_keys_required_decision() -> None:
    assert not keys_required_for("127.0.0.1")
    assert not keys_required_for("localhost")
    assert not keys_required_for("::1")
    assert not keys_required_for("127.0.0.2")
    assert keys_required_for("0.0.0.0")
    assert keys_required_for("::")
    assert keys_required_for("192.168.1.4")
    assert keys_required_for("example.org")


def test_keys_required_without_keys_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match="DUNES_API__API_KEYS"):
        create_app(get_settings(), require_api_keys=True)
    with pytest.raises(ConfigError, match="64 hex"):
        create_app(get_settings(api={"api_keys": ["sha256:abc"]}), require_api_keys=True)


async def test_gpus(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/gpus")).json()
    assert any(d["id"] == "cpu" for d in body["devices"])
    assert body["aer"]["distribution"].startswith("qiskit-aer")


async def test_metrics(client: httpx.AsyncClient) -> None:
    await client.post("/v1/simulate", json={"circuit": "h(0); cx(0,1)"})
    await client.post("/v1/simulate", json={"circuit": "nope(0)"})
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'dunes_http_requests_total{method="POST",route="/v1/simulate",status="200"} 1.0' in text
    assert 'dunes_http_requests_total{method="POST",route="/v1/simulate",status="422"} 1.0' in text
    assert "dunes_http_request_duration_seconds_bucket" in text
    assert 'dunes_device_memory_free_bytes{device="cpu"' in text
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert names and all(name.startswith("dunes_") for name in names)


async def test_big_state_is_an_artifact(make_client: ClientFactory) -> None:
    settings = get_settings(quantum={"statevector_json_max_qubits": 2})
    async with make_client(settings) as client:
        body = (
            await client.post("/v1/simulate", json={"circuit": "h(0); cx(0,1); cx(1,2); t(0)"})
        ).json()
        assert body["statevector_truncated"] is True
        artifact = body["artifact"]
        assert artifact["path"] == f"/v1/artifacts/{artifact['sha256']}"
        download = await client.get(artifact["path"])
        assert download.status_code == 200
        state = np.load(io.BytesIO(download.content), allow_pickle=False)
        assert state.shape == (8,)
        assert abs(state[7]) == pytest.approx(2**-0.5)
        assert_problem(await client.get("/v1/artifacts/" + "0" * 64), 404)
        assert_problem(await client.get("/v1/artifacts/not-a-sha256"), 422, "artifact_id")
        assert_problem(await client.get("/v1/artifacts/..%2F..%2Fetc%2Fpasswd"), 404)


async def test_openapi_documents_examples_and_problems(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    simulate = schema["paths"]["/v1/simulate"]["post"]
    body = simulate["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    examples = schema["components"]["schemas"][body.rsplit("/", 1)[1]]["examples"]
    assert {"circuit": "h(0); cx(0,1); measure", "shots": 1000, "seed": 7} in examples
    for model in ("JobRequest", "SeedTask", "MamlDocumentIn", "AgentInput"):
        assert schema["components"]["schemas"][model]["examples"], model
    assert "application/problem+json" in simulate["responses"]["422"]["content"]
    assert "Problem" in schema["components"]["schemas"]
