"""The job half of the store: records, status changes, events and claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dunes.beluga import GraphStore
from dunes.errors import InvalidInputError, JobCancelledError, JobError, JobNotFoundError


def test_job_lifecycle_sets_timestamps(store: GraphStore) -> None:
    created = store.create_job(job_id="j-1", kind="simulate", input={"circuit": "h(0)"})
    assert (created.status, created.progress, created.started_at) == ("queued", 0.0, None)
    running = store.update_job("j-1", status="running", step="simulate", device="cpu")
    assert running.started_at is not None and running.finished_at is None
    assert running.device == "cpu" and running.step == "simulate"
    done = store.update_job("j-1", status="succeeded", result={"counts": {"0": 3}})
    assert done.progress == 1.0
    assert done.finished_at is not None and done.finished_at >= done.started_at
    assert store.get_job("j-1") == done
    assert store.get_job("j-1").result == {"counts": {"0": 3}}
    # The job is also an activity in the graph.
    assert store.get_node("j-1").kind == "job"


def test_final_status_is_final(store: GraphStore) -> None:
    store.create_job(job_id="j-c", kind="simulate", input={})
    store.update_job("j-c", status="cancelled")
    with pytest.raises(JobCancelledError, match="already cancelled; it cannot become succeeded"):
        store.update_job("j-c", status="succeeded")
    store.create_job(job_id="j-f", kind="simulate", input={})
    store.update_job("j-f", status="failed", error="boom")
    with pytest.raises(JobError, match="already failed"):
        store.update_job("j-f", status="running")
    assert store.update_job("j-f", result_ref="/tmp/x").result_ref == "/tmp/x"
    assert store.get_job("j-f").error == "boom"


def test_bad_job_input_names_the_field(store: GraphStore) -> None:
    with pytest.raises(JobNotFoundError, match="no job ghost"):
        store.get_job("ghost")
    with pytest.raises(JobNotFoundError):
        store.update_job("ghost", status="running")
    store.create_job(job_id="j-b", kind="simulate", input={})
    with pytest.raises(InvalidInputError, match="accepted are queued, running"):
        store.update_job("j-b", status="done")
    with pytest.raises(InvalidInputError, match="progress must be a number from 0 to 1"):
        store.update_job("j-b", progress=1.5)
    with pytest.raises(InvalidInputError, match="job_id must be a non-empty string"):
        store.create_job(job_id="", kind="simulate", input={})


def test_create_is_idempotent_for_the_same_job_only(store: GraphStore) -> None:
    first = store.create_job(job_id="j-i", kind="simulate", input={"a": [1, 2]})
    assert store.create_job(job_id="j-i", kind="simulate", input={"a": [1, 2]}) == first
    with pytest.raises(JobError, match="already exists"):
        store.create_job(job_id="j-i", kind="simulate", input={"a": [2, 1]})


def test_list_jobs_filters_and_pages(store: GraphStore) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    for n in range(7):
        store.create_job(job_id=f"L{n}", kind="maml" if n % 2 else "simulate", input={"n": n})
    store.update_job("L2", status="running")
    store.update_job("L3", status="failed")
    newest_first = [j.id for j in store.list_jobs()]
    assert newest_first == [f"L{n}" for n in reversed(range(7))]
    assert [j.id for j in store.list_jobs(status="running")] == ["L2"]
    assert {j.id for j in store.list_jobs(status=["running", "failed"])} == {"L2", "L3"}
    assert [j.id for j in store.list_jobs(kind="maml")] == ["L5", "L3", "L1"]
    assert [j.id for j in store.list_jobs(limit=2, offset=1)] == ["L5", "L4"]
    assert len(store.list_jobs(since=start)) == 7
    assert store.list_jobs(since=datetime.now(UTC) + timedelta(hours=1)) == []
    with pytest.raises(InvalidInputError, match="limit must be"):
        store.list_jobs(limit=0)


def test_events_are_numbered_per_job(store: GraphStore) -> None:
    store.create_job(job_id="E1", kind="simulate", input={})
    store.create_job(job_id="E2", kind="simulate", input={})
    for n in range(3):
        store.add_job_event("E1", step=f"s{n}", progress=n / 3, message=f"m{n}")
    store.add_job_event("E2", step="only", progress=1.0, message="done", status="succeeded")
    events = store.job_events("E1")
    assert [e.seq for e in events] == [1, 2, 3]
    assert [e.step for e in events] == ["s0", "s1", "s2"]
    assert [e.seq for e in store.job_events("E1", after_seq=2)] == [3]
    assert store.job_events("E2")[0].status == "succeeded"
    with pytest.raises(JobNotFoundError):
        store.add_job_event("nope", step="x", progress=0, message="x")
    with pytest.raises(JobNotFoundError):
        store.job_events("nope")


def test_claim_once_per_job(store: GraphStore) -> None:
    store.create_job(job_id="C1", kind="simulate", input={})
    assert store.claim_job("C1", worker="host-a:1") is True
    assert store.claim_job("C1", worker="host-b:2") is False
    assert store.claim_job("C1", worker="host-a:1") is False
    assert store.get_job("C1").worker == "host-a:1"
    assert store.claim_job("C2", worker="host-b:2") is True
