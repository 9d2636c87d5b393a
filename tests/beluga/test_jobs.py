"""The job half of the store: records, status changes, events and claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dunes.beluga import GraphStore
from dunes.errors import (
    InvalidInputError,
    JobCancelledError,
    JobError,
    JobNotFoundError,
    NodeNotFoundError,
)


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


def test_advance_job_changes_the_job_and_appends_its_event(store: GraphStore) -> None:
    store.create_job(job_id="A1", kind="task", input={})
    step = store.advance_job("A1", step="plan", progress=0.15, message="plan done")
    assert (step.status, step.step, step.progress) == ("queued", "plan", 0.15)
    done = store.advance_job(
        "A1", step="done", message="succeeded", status="succeeded", result={"n": 1}
    )
    assert done == store.get_job("A1")
    assert (done.status, done.progress, done.result) == ("succeeded", 1.0, {"n": 1})
    events = store.job_events("A1")
    assert [(e.seq, e.step, e.progress, e.status) for e in events] == [
        (1, "plan", 0.15, None),
        (2, "done", 1.0, "succeeded"),
    ]
    # A refused change writes neither the job nor the event.
    with pytest.raises(JobError, match="already succeeded"):
        store.advance_job("A1", step="failed", message="late", status="failed")
    assert len(store.job_events("A1")) == 2
    with pytest.raises(JobNotFoundError):
        store.advance_job("nope", step="x", message="x")


def test_start_job_claims_and_runs_once(store: GraphStore) -> None:
    store.create_job(job_id="S1", kind="task", input={})
    running = store.start_job("S1", claim="S1", worker="w1", device="cpu", message="on cpu")
    assert running is not None and running == store.get_job("S1")
    assert (running.status, running.worker, running.device, running.step) == (
        "running",
        "w1",
        "cpu",
        "start",
    )
    assert running.started_at is not None
    # A redelivered message for the same attempt gets nothing to do.
    assert store.start_job("S1", claim="S1", worker="w2", device="cuda:1", message="again") is None
    assert [(e.step, e.status) for e in store.job_events("S1")] == [("start", "running")]
    assert store.get_job("S1") == running  # the refused start left no trace
    store.create_job(job_id="S2", kind="task", input={})
    store.update_job("S2", status="cancelled")
    assert store.start_job("S2", claim="S2", worker="w1", device="cpu", message="x") is None
    assert store.claim_job("S2", worker="w1") is True  # a finished job takes no claim
    with pytest.raises(JobNotFoundError):
        store.start_job("nope", claim="nope", worker="w1", device="cpu", message="x")


def test_steps_and_end_of_a_running_job(store: GraphStore) -> None:
    from dunes.beluga import StepEvent

    def step(name: str, progress: float) -> StepEvent:
        return StepEvent(name, progress, f"{name} done", datetime.now(UTC))

    store.create_job(job_id="R1", kind="task", input={})
    store.start_job("R1", claim="R1", worker="w1", device="cpu", message="go")
    assert store.record_steps("R1", [step("plan", 0.2), step("extract", 0.3)]) == "running"
    job = store.get_job("R1")
    assert (job.step, job.progress, job.status) == ("extract", 0.3, "running")
    assert store.job_status("R1") == "running"
    store.finish_job(
        "R1",
        status="succeeded",
        step="done",
        message="ok",
        result={"value": [1, 2]},
        device="cpu",
        earlier=[step("simulate", 0.8)],
    )
    events = store.job_events("R1")
    assert [(e.seq, e.step, e.status) for e in events] == [
        (1, "start", "running"),
        (2, "plan", None),
        (3, "extract", None),
        (4, "simulate", None),
        (5, "done", "succeeded"),
    ]
    job = store.get_job("R1")
    assert (job.status, job.progress, job.result, job.device) == (
        "succeeded",
        1.0,
        {"value": [1, 2]},
        "cpu",
    )
    assert job.finished_at is not None and job.finished_at >= job.started_at
    with pytest.raises(JobError, match="already succeeded; it cannot become failed"):
        store.finish_job("R1", status="failed", message="late", error="late")
    store.create_job(job_id="R2", kind="task", input={})
    store.update_job("R2", status="cancelled")
    assert store.record_steps("R2", [step("plan", 0.2)]) == "cancelled"
    late = store.get_job("R2")
    assert (late.step, late.progress) != ("plan", 0.2)  # a job that is over stays as it ended
    assert store.record_steps("R1", [step("late", 0.5)]) == "succeeded"
    assert (store.get_job("R1").step, len(store.job_events("R1"))) == ("done", 5)
    with pytest.raises(JobCancelledError):
        store.finish_job("R2", status="succeeded", message="too late")
    with pytest.raises(InvalidInputError, match="final status"):
        store.finish_job("R2", status="running", message="x")
    for missing in (
        lambda: store.record_steps("nope", [step("plan", 0.1)]),
        lambda: store.finish_job("nope", status="failed", message="x"),
        lambda: store.job_status("nope"),
    ):
        with pytest.raises(JobNotFoundError):
            missing()


def test_create_jobs_is_all_or_nothing(store: GraphStore) -> None:
    made = store.create_jobs([("M1", "circuit", {"c": 1}), ("M2", "task", {"t": "x"})])
    assert [(j.id, j.status) for j in made] == [("M1", "queued"), ("M2", "queued")]
    assert store.get_node("M2").kind == "job"
    with pytest.raises(JobError, match="M1 already exists"):
        store.create_jobs([("M3", "circuit", {}), ("M1", "circuit", {"c": 2})])
    with pytest.raises(JobNotFoundError):
        store.get_job("M3")


def test_atomic_is_one_transaction_all_or_nothing(store: GraphStore) -> None:
    from sqlalchemy import event

    begun: list[object] = []

    def count(conn: object) -> None:
        begun.append(conn)

    event.listen(store.engine, "begin", count)
    try:

        def work(s: GraphStore) -> str:
            task = s.add_entity("task", {"text": "atomic"})
            run = s.add_activity("agent_run", {"role": "planner"})
            s.relate(task, "wasGeneratedBy", run)
            assert s.get_node(task).kind == "task"  # reads see the uncommitted writes
            return s.atomic(lambda inner: inner.add_agent("model", {"m": "x"}))  # joins

        agent = store.atomic(work)
    finally:
        event.remove(store.engine, "begin", count)
    assert len(begun) == 1
    assert store.get_node(agent).kind == "model"
    assert [e.relation for e in store.edges_of(agent)] == []

    def broken(s: GraphStore) -> None:
        s.add_entity("task", {"text": "rolled back"})
        s.relate("missing-node", "used", "other")

    with pytest.raises(NodeNotFoundError):
        store.atomic(broken)
    from dunes.beluga.store import content_id

    with pytest.raises(NodeNotFoundError):
        store.get_node(content_id("task", {"text": "rolled back"}))


def test_a_refused_start_inside_a_unit_of_work_leaves_the_job_as_it_was(
    store: GraphStore,
) -> None:
    from dunes.beluga.store import content_id

    store.create_job(job_id="U1", kind="task", input={})
    first = store.start_job("U1", claim="U1", worker="w1", device="cpu", message="go")

    def work(s: GraphStore) -> object:
        again = s.start_job("U1", claim="U1", worker="w2", device="cuda:1", message="again")
        s.add_entity("task", {"text": "kept"})
        return again

    assert store.atomic(work) is None
    assert store.get_job("U1") == first
    assert store.get_node(content_id("task", {"text": "kept"})).kind == "task"
