"""A worker's runtime: a job's graph record goes in with its end, or the job fails."""

from __future__ import annotations

import pytest

from dunes.config import Settings
from dunes.errors import StoreError
from dunes.orchestration import JobRequest
from dunes.orchestration.runner import DeviceRuntime

GHZ = "h(0); cx(0,1); cx(1,2)"


@pytest.fixture
def runtime(settings: Settings) -> DeviceRuntime:
    return DeviceRuntime(settings, "cpu", worker="test-worker")


def _job(runtime: DeviceRuntime, job_id: str) -> None:
    request = JobRequest(circuit=GHZ)
    runtime.store.create_job(
        job_id=job_id, kind=request.kind, input=request.model_dump(mode="json")
    )


def test_a_job_that_succeeds_is_in_the_graph_with_its_steps(runtime: DeviceRuntime) -> None:
    _job(runtime, "ok-1")
    assert runtime.execute("ok-1") == "succeeded"
    store = runtime.store
    job = store.get_job("ok-1")
    simulation = job.result["graph"]["simulations"][0]["simulation"]
    assert store.get_node(simulation).kind == "simulation"
    assert "simulation" in store.lineage("ok-1", depth=1).kinds()
    steps = [e.step for e in store.job_events("ok-1")]
    assert steps[0] == "start" and steps[-1] == "done" and "simulate" in steps
    assert runtime.execute("ok-1") == "skipped"  # a redelivered message runs nothing twice


def test_a_job_whose_record_cannot_be_written_fails_and_leaves_no_trace(
    runtime: DeviceRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _job(runtime, "bad-1")

    def broken(conn, batch) -> None:
        raise StoreError("disk full (injected)")

    monkeypatch.setattr(runtime.store, "_apply_batch", broken)
    assert runtime.execute("bad-1") == "failed"
    job = runtime.store.get_job("bad-1")
    assert job.status == "failed" and "recording the job failed: disk full" in (job.error or "")
    assert job.result is None
    assert [e.relation for e in runtime.store.edges_of("bad-1")] == []
    assert [e.step for e in runtime.store.job_events("bad-1")][-1] == "failed"
