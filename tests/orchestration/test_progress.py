"""The progress journal: every step reaches the store, in order, batched, a few ms late."""

from __future__ import annotations

import pytest

from dunes.beluga import open_store
from dunes.config import Settings
from dunes.errors import JobCancelledError
from dunes.orchestration.progress import ProgressJournal
from tests.orchestration.helpers import poll


@pytest.fixture
def store(settings: Settings):
    with open_store(settings) as graph:
        yield graph


def _running(store, job_id: str) -> None:
    store.create_job(job_id=job_id, kind="circuit", input={"circuit": "h(0)"})
    store.start_job(job_id, claim=job_id, worker="w", device="cpu", message="go")


def _steps(store, job_id: str) -> list[str]:
    return [e.step for e in store.job_events(job_id)]


def test_steps_are_written_in_order_in_few_transactions(store) -> None:
    _running(store, "j1")
    journal = ProgressJournal(store, delay_s=0.5)
    for i in range(6):
        journal.report("j1", f"s{i}", (i + 1) / 10, f"step {i}")
    poll(lambda: len(_steps(store, "j1")) == 7, timeout=10, what="the steps to be written")
    assert _steps(store, "j1") == ["start", "s0", "s1", "s2", "s3", "s4", "s5"]
    assert journal.writes == 1 and journal.steps_written == 6
    job = store.get_job("j1")
    assert (job.step, job.progress, job.status) == ("s5", 0.6, "running")


def test_the_end_takes_the_steps_not_written_yet(store) -> None:
    _running(store, "j2")
    journal = ProgressJournal(store, delay_s=60)
    journal.report("j2", "plan", 0.2, "planned")
    journal.report("j2", "simulate", 0.8, "simulated")
    assert _steps(store, "j2") == ["start"]
    store.finish_job(
        "j2", status="succeeded", step="done", message="ok", earlier=journal.finish("j2")
    )
    events = store.job_events("j2")
    assert [e.step for e in events] == ["start", "plan", "simulate", "done"]
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert events[1].at <= events[2].at <= events[3].at
    assert journal.finish("j2") == []


def test_a_cancel_found_by_a_write_stops_the_next_step(store) -> None:
    _running(store, "j3")
    journal = ProgressJournal(store, delay_s=0)
    store.update_job("j3", status="cancelled", error="cancelled on request")
    journal.report("j3", "plan", 0.2, "planned")
    poll(lambda: journal.writes == 1, timeout=10, what="the write that sees the cancel")
    with pytest.raises(JobCancelledError, match="j3 was cancelled during step simulate"):
        journal.report("j3", "simulate", 0.5, "simulating")
    assert journal.finish("j3") == []


def test_progress_of_a_vanished_job_is_dropped_not_retried(store, caplog) -> None:
    journal = ProgressJournal(store, delay_s=0)
    journal.report("nope", "plan", 0.1, "x")
    poll(lambda: "gone from the store" in caplog.text, timeout=10, what="the warning")
    assert journal.finish("nope") == []
