"""Jobs, Server-Sent Events, the seed endpoint, the graph, agents and MAML through the gateway.

One Orchestrator (local executor, one CPU worker) serves the whole module.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from dunes.config import Settings, get_settings
from dunes.interfaces.api import create_app
from dunes.orchestration import Orchestrator
from dunes.services.requests import EXAMPLE_DOCUMENT
from tests.interfaces.api.test_gateway import assert_problem

pytestmark = pytest.mark.integration

#: Enough work to keep the single worker busy for a moment (20 qubits, 600 gates).
HEAVY = "; ".join(f"rx(0.3,{q}); cx({q},{(q + 1) % 20})" for q in range(20) for _ in range(15))


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Orchestrator]]:
    data = tmp_path_factory.mktemp("jobs")
    settings = get_settings(
        data_dir=data, store={"url": None}, executor={"kind": "local", "cpu_workers": 1}
    )
    orch = Orchestrator(settings)
    yield settings, orch
    orch.close()


@pytest.fixture
async def jobs_client(
    shared: tuple[Settings, Orchestrator],
) -> AsyncIterator[httpx.AsyncClient]:
    settings, orch = shared
    app = create_app(settings, orch)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


async def test_circuit_job_lifecycle(jobs_client: httpx.AsyncClient) -> None:
    submitted = await jobs_client.post(
        "/v1/jobs", json={"circuit": "h(0); cx(0,1); measure", "shots": 300, "seed": 3}
    )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["job_id"]
    assert submitted.headers["location"] == f"/v1/jobs/{job_id}"
    result = await jobs_client.get(f"/v1/jobs/{job_id}/result", params={"wait": "true"})
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["status"] == "succeeded"
    assert sum(body["counts"].values()) == 300
    assert set(body["counts"]) <= {"00", "11"}
    job = (await jobs_client.get(f"/v1/jobs/{job_id}")).json()
    assert job["status"] == "succeeded"
    assert job["progress"] == 1.0
    png = await jobs_client.get(f"/v1/jobs/{job_id}/histogram.png")
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")
    assert_problem(await jobs_client.get(f"/v1/jobs/{job_id}/statevector.npy"), 422)


async def test_wait_returns_the_result_and_artifacts(jobs_client: httpx.AsyncClient) -> None:
    response = await jobs_client.post(
        "/v1/jobs", params={"wait": "true"}, json={"circuit": "h(0); cx(0,1); cx(1,2)"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["circuit"] == "h(0); cx(0,1); cx(1,2)"
    graph = body["graph"]["simulations"][0]
    npy = await jobs_client.get(f"/v1/jobs/{body['job_id']}/statevector.npy")
    state = np.load(io.BytesIO(npy.content), allow_pickle=False)
    assert np.allclose(np.abs(state) ** 2, [0.5, 0, 0, 0, 0, 0, 0, 0.5])

    node = (await jobs_client.get(f"/v1/graph/{graph['quantum_state'][:12]}")).json()
    assert node["id"] == graph["quantum_state"]
    assert node["embedding"] is None
    lineage = (
        await jobs_client.get(
            f"/v1/graph/{graph['quantum_state']}/lineage",
            params={"direction": "upstream", "depth": 3},
        )
    ).json()
    assert graph["circuit"] in lineage["upstream"]
    assert_problem(await jobs_client.get("/v1/graph/ffffffffffff"), 404, "id")
    assert_problem(
        await jobs_client.get(f"/v1/graph/{graph['circuit']}/lineage", params={"depth": 1000}),
        422,
        "depth",
    )


async def test_events_stream_progress_until_done(jobs_client: httpx.AsyncClient) -> None:
    job_id = (await jobs_client.post("/v1/jobs", json={"circuit": "h(0)"})).json()["job_id"]
    events: list[tuple[str, dict]] = []
    async with jobs_client.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        kind = ""
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((kind, json.loads(line.split(":", 1)[1])))
    progress = [data for kind, data in events if kind == "progress"]
    assert [e["seq"] for e in progress] == list(range(1, len(progress) + 1))
    assert progress[-1]["progress"] == 1.0
    assert events[-1][0] == "end"
    assert events[-1][1]["status"] == "succeeded"
    resumed = await jobs_client.get(
        f"/v1/jobs/{job_id}/events", headers={"Last-Event-ID": str(len(progress) - 1)}
    )
    assert resumed.text.count("event: progress") == 1


async def test_list_filter_and_paginate(jobs_client: httpx.AsyncClient) -> None:
    for circuit in ("x(0)", "x(1)"):
        await jobs_client.post("/v1/jobs", params={"wait": "true"}, json={"circuit": circuit})
    first = (await jobs_client.get("/v1/jobs", params={"limit": 1})).json()
    assert len(first["jobs"]) == 1
    assert first["next_offset"] == 1
    second = (await jobs_client.get("/v1/jobs", params={"limit": 1, "offset": 1})).json()
    assert second["jobs"][0]["job_id"] != first["jobs"][0]["job_id"]
    done = (await jobs_client.get("/v1/jobs", params={"status": "succeeded"})).json()
    assert done["jobs"] and all(j["status"] == "succeeded" for j in done["jobs"])
    assert_problem(await jobs_client.get("/v1/jobs", params={"status": "nope"}), 422, "status")
    assert_problem(await jobs_client.get("/v1/jobs", params={"limit": 0}), 422, "limit")
    circuits = (await jobs_client.get("/v1/jobs", params={"kind": "circuit"})).json()
    assert len(circuits["jobs"]) >= 2 and all(j["kind"] == "circuit" for j in circuits["jobs"])
    assert (await jobs_client.get("/v1/jobs", params={"kind": "maml"})).json()["jobs"] == []
    future = (await jobs_client.get("/v1/jobs", params={"since": "2999-01-01T00:00:00Z"})).json()
    assert future["jobs"] == []
    assert_problem(await jobs_client.get("/v1/jobs", params={"since": "yesterday"}), 422, "since")


async def test_cancel_a_queued_job(jobs_client: httpx.AsyncClient) -> None:
    busy = (await jobs_client.post("/v1/jobs", json={"circuit": HEAVY})).json()["job_id"]
    queued = (await jobs_client.post("/v1/jobs", json={"circuit": "h(0)"})).json()["job_id"]
    cancelled = await jobs_client.delete(f"/v1/jobs/{queued}")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    result = (await jobs_client.get(f"/v1/jobs/{queued}/result")).json()
    assert result["status"] == "cancelled"
    await jobs_client.get(f"/v1/jobs/{busy}/result", params={"wait": "true"})


async def test_bad_job_requests(jobs_client: httpx.AsyncClient) -> None:
    body = assert_problem(await jobs_client.post("/v1/jobs", json={}), 422)
    assert "exactly one of" in body["detail"]
    assert_problem(
        await jobs_client.post("/v1/jobs", json={"circuit": "h(0)", "shots": -2}), 422, "shots"
    )
    assert_problem(await jobs_client.get("/v1/jobs/does-not-exist"), 404, "job_id")
    assert_problem(await jobs_client.get("/v1/jobs/does-not-exist/result"), 404)
    assert_problem(await jobs_client.delete("/v1/jobs/does-not-exist"), 404)
    assert_problem(await jobs_client.get("/v1/jobs/does-not-exist/events"), 404)


async def test_failed_job_result(jobs_client: httpx.AsyncClient) -> None:
    response = await jobs_client.post(
        "/v1/jobs", params={"wait": "true"}, json={"circuit": "h(0); nosuchgate(1)"}
    )
    if response.status_code == 422:  # refused at submission: equally fine
        assert_problem(response, 422)
        return
    body = response.json()
    assert body["status"] == "failed"
    assert "nosuchgate" in body["error"]


async def test_metrics_count_jobs(jobs_client: httpx.AsyncClient) -> None:
    await jobs_client.post("/v1/jobs", params={"wait": "true"}, json={"circuit": "h(0)"})
    text = (await jobs_client.get("/metrics")).text
    assert 'dunes_jobs{state="succeeded"}' in text
    assert "dunes_queue_depth" in text
    assert "dunes_job_duration_seconds_count" in text


async def test_readyz_with_local_workers(jobs_client: httpx.AsyncClient) -> None:
    response = await jobs_client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert {c["name"] for c in body["checks"]} == {"store", "workers"}


async def test_readyz_reports_a_dead_broker(tmp_path: Path) -> None:
    settings = get_settings(
        data_dir=tmp_path, executor={"kind": "celery", "broker_url": "redis://127.0.0.1:9/0"}
    )
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    checks = {c["name"]: c for c in response.json()["checks"]}
    assert checks["store"]["status"] == "ok"
    assert checks["broker"]["status"] == "fail"
    assert "9/0" not in response.text  # no internals in the answer


async def test_maml_validate_and_run(jobs_client: httpx.AsyncClient, tmp_path: Path) -> None:
    report = (
        await jobs_client.post("/v1/maml/validate", json={"document": EXAMPLE_DOCUMENT})
    ).json()
    assert report["valid"] is True
    assert report["blocks"][0]["name"] == "bell"
    bad = (await jobs_client.post("/v1/maml/validate", json={"document": "no front"})).json()
    assert bad["valid"] is False
    assert bad["errors"][0]["code"] == "front-matter-missing"
    run = (await jobs_client.post("/v1/maml/run", json={"document": EXAMPLE_DOCUMENT})).json()
    assert run["status"] == "ok"
    assert run["blocks"][0]["data"]["probabilities"] == pytest.approx({"00": 0.5, "11": 0.5})
    assert run["workdir"] is None
    refused = EXAMPLE_DOCUMENT.replace("execute: true", "execute: false")
    assert_problem(
        await jobs_client.post("/v1/maml/run", json={"document": refused}),
        403,
        "permissions.execute",
    )
    assert_problem(await jobs_client.post("/v1/maml/run", json={"document": "nope"}), 422)
    job = await jobs_client.post(
        "/v1/jobs", params={"wait": "true"}, json={"maml": EXAMPLE_DOCUMENT}
    )
    assert job.status_code == 200, job.text
    assert job.json()["kind"] == "maml"
    assert job.json()["maml"]["status"] == "ok"
    assert "workdir" not in job.json()["maml"]
    # A client cannot make the server open a file of its choosing.
    secret = tmp_path / "local.maml.md"
    secret.write_text(EXAMPLE_DOCUMENT, encoding="utf-8")
    assert_problem(await jobs_client.post("/v1/jobs", json={"maml": str(secret)}), 422, "maml")


async def test_agents_and_graph_search(jobs_client: httpx.AsyncClient) -> None:
    plan = await jobs_client.post("/v1/agents/planner", json={"text": "Design a 4-qubit GHZ state"})
    assert plan.status_code == 200, plan.text
    body = plan.json()
    assert body["family"] == "ghz"
    assert body["circuit"] == "h(0); cx(0,1); cx(1,2); cx(2,3)"
    assert "embedding" not in body
    refused = await jobs_client.post("/v1/agents/synthesis", json={"text": "bake a cake"})
    assert_problem(refused, 422, "task")
    assert_problem(await jobs_client.post("/v1/agents/chef", json={"text": "x"}), 422, "role")
    placement = (await jobs_client.get("/v1/agents")).json()
    assert {r["role"] for r in placement["roles"]} == {
        "planner",
        "extraction",
        "validation",
        "synthesis",
    }
    found = await jobs_client.get("/v1/graph/search", params={"q": "GHZ state", "top_k": 3})
    assert found.status_code == 200, found.text
    assert found.json()["model"]
    assert len(found.json()["hits"]) <= 3


async def test_seed_endpoint_answers_202_when_the_wait_runs_out(
    shared: tuple[Settings, Orchestrator],
) -> None:
    settings, orch = shared
    impatient = settings.model_copy(
        update={"api": settings.api.model_copy(update={"sync_wait_timeout_s": 0.01})}
    )
    app = create_app(impatient, orch)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as client:
        await client.post("/v1/jobs", json={"circuit": HEAVY})  # keeps the worker busy
        response = await client.post(
            "/orchestrate-quantum-simulation", json={"task": "Design a 4-qubit GHZ state"}
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        assert response.headers["location"] == f"/v1/jobs/{job_id}"
        assert (await client.get(response.headers["location"])).json()["kind"] == "task"
        await client.delete(f"/v1/jobs/{job_id}")
        assert_problem(await client.post("/orchestrate-quantum-simulation", json={}), 422, "task")
        assert_problem(
            await client.post(
                "/orchestrate-quantum-simulation",
                content=b"{",
                headers={"content-type": "application/json"},
            ),
            400,
        )


async def test_seed_endpoint_says_at_which_step_a_task_failed(
    jobs_client: httpx.AsyncClient,
) -> None:
    response = await jobs_client.post(
        "/orchestrate-quantum-simulation", json={"task": "bake a lemon cake for twelve"}
    )
    body = assert_problem(response, 422)
    assert body["type"].endswith(":job-failed") and body["job_id"]
    assert "failed at step '" in body["detail"] and "at step 'failed'" not in body["detail"]
