"""Following jobs: to the end or to a time limit, how a job ended, progress that only rises."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from dunes.config import Settings
from dunes.errors import JobCancelledError, JobError, JobFailedError
from dunes.orchestration import JobEvent, JobResult
from dunes.services import Services
from dunes.services import jobs as job_service
from dunes.services.jobs import rising_progress
from tests.orchestration.helpers import slow_circuit


@pytest.fixture
def held(settings: Settings) -> Iterator[Services]:
    with Services(settings, executor="local") as opened:
        yield opened


def test_a_job_is_followed_to_its_result_and_the_step_it_ended_at(held: Services) -> None:
    jobs = job_service.LocalJobs(held)
    job_id = jobs.submit({"circuit": "h(0); cx(0,1)", "shots": 100, "seed": 7})
    steps: list[str] = []
    result, step = job_service.follow_to_end(
        jobs,
        job_id,
        timeout=120,
        started=time.monotonic(),
        on_update=lambda look: steps.extend(e.step for e in look.events),
    )
    assert result.status == "succeeded" and result.job_id == job_id
    assert steps[-1] == "done" and step is None  # no step to blame
    assert sum((result.counts or {}).values()) == 100
    assert job_service.require_success(result, step=step) is result


def test_a_failed_job_names_the_step_it_failed_at_not_its_end(held: Services) -> None:
    jobs = job_service.LocalJobs(held)
    job_id = jobs.submit({"task": "bake a lemon cake for twelve"})
    result, step = job_service.follow_to_end(jobs, job_id, timeout=300, started=time.monotonic())
    assert result.status == "failed" and step not in (None, "failed")
    with pytest.raises(JobFailedError, match=f"failed at step '{step}': the planner found no"):
        job_service.require_success(result, step=step)
    events = job_service.job_events(services=held, job_id=job_id)
    assert events[-1].step == "failed" and step == events[-2].step  # the end is not a step
    with pytest.raises(JobFailedError, match=f"failed at step '{step}'"):
        job_service.unless_failed(services=held, result=result)


def test_past_the_time_limit_the_error_says_where_the_job_stands(held: Services) -> None:
    jobs = job_service.LocalJobs(held)
    job_id = jobs.submit({"circuit": slow_circuit(20, 200)})
    try:
        with pytest.raises(JobError, match=f"job {job_id} is still .* it goes on") as caught:
            job_service.follow_to_end(jobs, job_id, timeout=0.2, started=time.monotonic())
        assert caught.value.job_id == job_id
    finally:
        jobs.cancel(job_id)


@pytest.mark.parametrize(
    ("status", "error"),
    [("failed", JobFailedError), ("cancelled", JobCancelledError), ("running", JobError)],
)
def test_an_unsuccessful_job_is_an_error_naming_step_and_reason(
    status: str, error: type[JobError]
) -> None:
    result = JobResult(job_id="j1", status=status, error="no family fits")  # type: ignore[arg-type]
    with pytest.raises(error, match=f"job j1 {status} at step 'plan': no family fits") as caught:
        job_service.require_success(result, step="plan")
    assert type(caught.value) is error and caught.value.job_id == "j1"


def test_rising_progress_rises_strictly_and_ends_at_one() -> None:
    steps = [("start", 0.0, "running"), ("plan", 0.15, None), ("store", 1.0, None)]
    steps += [("store", 1.0, None), ("done", 1.0, "succeeded")]
    last, values = 0.0, []
    for seq, (step, progress, status) in enumerate(steps, start=1):
        event = JobEvent(job_id="j", seq=seq, step=step, progress=progress, status=status)
        value = rising_progress(event, last)
        if value is not None:
            values.append(value)
            last = value
    assert values == sorted(set(values)) and len(values) == 5
    assert values[-1] == 1.0 and all(v < 1.0 for v in values[:-1])


def test_a_request_waits_at_most_the_configured_time() -> None:
    from dunes.config import get_settings

    with Services(get_settings(api={"sync_wait_timeout_s": 5})) as held:
        waits = [job_service.sync_wait_s(services=held, timeout=t) for t in (None, 1.0, 60.0)]
    assert waits == [5.0, 1.0, 5.0]
