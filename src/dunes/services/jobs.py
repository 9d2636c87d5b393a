"""Jobs: submit, follow, wait for, cancel and list them, by id or a unique id prefix."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from dunes.constants import JOB_STATUSES, TERMINAL_STATUSES
from dunes.errors import InvalidInputError, JobCancelledError, JobError, JobFailedError
from dunes.orchestration import Job, JobEvent, JobRequest, JobResult
from dunes.quantum import SimulationResult
from dunes.services.context import Services
from dunes.services.public import JobPage, Origin, public_job_result
from dunes.services.threads import io_bound
from dunes.validation import parse_model


def job_request(request: JobRequest | Mapping[str, Any], *, origin: Origin) -> JobRequest:
    """The request checked, with the rules of its origin.

    Raises:
        InvalidInputError: a field is wrong (named), or a network caller gave a MAML path.
    """
    parsed = request if isinstance(request, JobRequest) else parse_model(JobRequest, dict(request))
    if origin == "network" and parsed.maml is not None and "\n" not in parsed.maml.strip():
        # A server never opens a path a client names: the document must come in the request.
        raise InvalidInputError(
            "maml must hold the document itself (front matter, sections, code blocks), "
            "not a file name",
            field="maml",
        )
    return parsed.model_copy(update={"origin": origin})


@io_bound
def submit_job(
    *, services: Services, request: JobRequest | Mapping[str, Any], origin: Origin
) -> Job:
    """Record the job as queued and hand it to the executor.

    Raises:
        InvalidInputError: the request is malformed (names the field).
        BrokerUnavailableError: the broker cannot be reached (the job record says so).
    """
    orchestrator = services.orchestrator
    job_id = orchestrator.submit(job_request(request, origin=origin))
    return orchestrator.status(job_id)


def sync_wait_s(*, services: Services, timeout: float | None) -> float:
    """How long a request waits for a job: ``timeout``, at most ``api.sync_wait_timeout_s``
    (also the default), so that no request holds a server longer."""
    limit = services.settings.api.sync_wait_timeout_s
    return limit if timeout is None else min(timeout, limit)


@io_bound
def submit_and_wait(
    *,
    services: Services,
    request: JobRequest | Mapping[str, Any],
    origin: Origin,
    timeout: float | None = None,
) -> tuple[Job, JobResult | None]:
    """Queue a job and wait for it (``sync_wait_s``): the job as it then stands, and its result
    when it is done (None while it goes on)."""
    job = submit_job(services=services, request=request, origin=origin)
    wait = sync_wait_s(services=services, timeout=timeout)
    result = wait_for_job(services=services, job_id=job.job_id, timeout=wait, origin=origin)
    return get_job(services=services, job_id=job.job_id), result


@io_bound
def require_success(result: JobResult, *, step: str | None = None) -> JobResult:
    """``result`` when its job succeeded; else the error saying how it ended, at which step
    (when the caller knows it) and why.

    Raises:
        JobFailedError / JobCancelledError: the job failed or was cancelled (``job_id`` set).
        JobError: it has not ended.
    """
    if result.status == "succeeded":
        return result
    where = f" at step '{step}'" if step else ""
    reason = result.error or "no reason recorded"
    error = {"failed": JobFailedError, "cancelled": JobCancelledError}.get(result.status, JobError)
    raise error(f"job {result.job_id} {result.status}{where}: {reason}", job_id=result.job_id)


def work_step(events: Sequence[JobEvent]) -> str | None:
    """The step a job was at when it ended: that of its last event before the end (the end's
    own event names the outcome: ``failed``, ``cancelled``, ``done``)."""
    return next((e.step for e in reversed(events) if e.status not in TERMINAL_STATUSES), None)


@io_bound
def unless_failed(*, services: Services, result: JobResult) -> JobResult:
    """``result`` unless its job failed or was cancelled; then the error that says so, with the
    step it ended at (from its events) and why (``require_success``)."""
    if result.status not in ("failed", "cancelled"):
        return result
    events = job_events(services=services, job_id=result.job_id)
    return require_success(result, step=work_step(events))


@io_bound
def job_counts(*, services: Services) -> dict[str, int]:
    """Jobs by state, every state present (zero where none)."""
    counts: dict[str, int] = dict.fromkeys(JOB_STATUSES, 0)
    counts.update(services.store.stats()["job_statuses"])
    return counts


@io_bound
def resolve_job_id(*, services: Services, job_id: str) -> str:
    """The full id of a job given by its id or a unique prefix (``dunes jobs list`` shows 12).

    Raises:
        JobNotFoundError / InvalidInputError: no job, or several, start with it.
    """
    return services.store.resolve_job(job_id)


@io_bound
def get_job(*, services: Services, job_id: str) -> Job:
    """Where a job stands."""
    return services.orchestrator.status(resolve_job_id(services=services, job_id=job_id))


@io_bound
def job_result(
    *, services: Services, job_id: str, origin: Origin, top: int | None = None
) -> JobResult:
    """The job's result as it stands now (done or not); ``top`` makes it compact."""
    full = resolve_job_id(services=services, job_id=job_id)
    result = services.orchestrator.result(full, wait=False)
    return public_job_result(result, origin=origin, top=top)


@io_bound
def wait_for_job(
    *, services: Services, job_id: str, timeout: float | None, origin: Origin
) -> JobResult | None:
    """The result once the job is done, or None when it is still going after ``timeout`` s
    (default: ``executor.job_wait_timeout_s``)."""
    full = resolve_job_id(services=services, job_id=job_id)
    orchestrator = services.orchestrator
    try:
        result = orchestrator.result(full, wait=True, timeout=timeout)
    except JobError:
        if not orchestrator.status(full).done:
            return None
        result = orchestrator.result(full, wait=False)
    return public_job_result(result, origin=origin)


@io_bound
def job_events(*, services: Services, job_id: str, after_seq: int = 0) -> list[JobEvent]:
    """The events recorded so far."""
    full = resolve_job_id(services=services, job_id=job_id)
    return list(services.orchestrator.events(full, after_seq=after_seq))


@io_bound
def cancel_job(*, services: Services, job_id: str) -> Job:
    """Cancel a queued or running job (a running simulation is stopped); a finished job is
    returned as it is."""
    return services.orchestrator.cancel(resolve_job_id(services=services, job_id=job_id))


@io_bound
def list_jobs(
    *,
    services: Services,
    status: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> JobPage:
    """Jobs, newest first."""
    jobs = services.orchestrator.list(
        status=status, kind=kind, since=since, limit=limit, offset=offset
    )
    return JobPage(
        jobs=jobs,
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(jobs) == limit else None,
    )


class JobProgress(BaseModel):
    """The events since the last look, and where the job stands now (read after them)."""

    model_config = ConfigDict(frozen=True)

    events: list[JobEvent]
    job: Job


def _poll(services: Services, full: str, after_seq: int) -> JobProgress:
    """One look at job ``full`` (a resolved id): new events, then the job; when it is done,
    the events are complete (read again after the status)."""
    orchestrator = services.orchestrator
    events = list(orchestrator.events(full, after_seq=after_seq))
    job = orchestrator.status(full)
    if job.done:
        last = events[-1].seq if events else after_seq
        events += list(orchestrator.events(full, after_seq=last))
    return JobProgress(events=events, job=job)


def why_waiting(*, services: Services, job: Job) -> str | None:
    """Why a queued job is not starting (no worker for its queue), with the command that
    starts one; None when it is not queued or a worker will take it."""
    return services.orchestrator.why_waiting(job)


def still_waiting(*, services: Services, job_id: str, waited_s: float) -> JobError:
    """The error for a job still going after ``waited_s``: where it stands, why no worker
    takes it, and the commands that follow or cancel it."""
    full = resolve_job_id(services=services, job_id=job_id)
    return services.orchestrator.still_waiting(full, waited_s)


class JobUpdate(BaseModel):
    """One look while following a job: new events, the job, why it waits (when queued past
    ``JobWatch.stall_check_s`` with no worker for it), and whether the follower's time is up."""

    model_config = ConfigDict(frozen=True)

    events: list[JobEvent]
    job: Job
    waiting: str | None = None
    timed_out: bool = False

    @property
    def last(self) -> bool:
        """Nothing follows this look: the job is done or the time is up."""
        return self.job.done or self.timed_out


@io_bound
class JobWatch:
    """Following one job, for every follower (the CLI's bar, Server-Sent Events, MCP progress):
    each ``look`` polls once; ``delay`` is the pause before the next (short while events come,
    then up to a quarter of a second)."""

    stall_check_s = 2.0

    def __init__(
        self, *, services: Services, job_id: str, after_seq: int = 0, timeout: float | None = None
    ) -> None:
        self.services = services
        self.job_id = resolve_job_id(services=services, job_id=job_id)
        self.seq = after_seq
        self.timeout = timeout
        self.started = time.monotonic()
        self.delay = 0.02
        self._checked = 0.0

    @io_bound
    def look(self) -> JobUpdate:
        progress = _poll(self.services, self.job_id, self.seq)  # the id resolved once, above
        if progress.events:
            self.seq = progress.events[-1].seq
        now = time.monotonic()
        elapsed = now - self.started
        waiting = None
        queued = progress.job.status == "queued" and elapsed >= self.stall_check_s
        if queued and now - self._checked >= 1.0:
            self._checked = now
            waiting = why_waiting(services=self.services, job=progress.job)
        self.delay = 0.02 if progress.events else min(self.delay * 1.5, 0.25)
        return JobUpdate(
            events=progress.events,
            job=progress.job,
            waiting=waiting,
            timed_out=self.timeout is not None and elapsed >= self.timeout,
        )


def watch_job(
    *, services: Services, job_id: str, after_seq: int = 0, timeout: float | None = None
) -> Iterator[JobUpdate]:
    """Follow a job until it is done or ``timeout`` s pass (the last update says which)."""
    watch = JobWatch(services=services, job_id=job_id, after_seq=after_seq, timeout=timeout)
    while True:
        update = watch.look()
        yield update
        if update.last:
            return
        time.sleep(watch.delay)


async def watch_job_async(
    *, services: Services, job_id: str, after_seq: int = 0, timeout: float | None = None
) -> AsyncIterator[JobUpdate]:
    """``watch_job`` for an event loop: each look runs on the compute threads."""
    import asyncio

    from dunes.services.threads import in_thread

    watch = await in_thread(
        JobWatch, services=services, job_id=job_id, after_seq=after_seq, timeout=timeout
    )
    while True:
        update = await in_thread(watch.look)
        yield update
        if update.last:
            return
        await asyncio.sleep(watch.delay)


class JobFollower(Protocol):
    """Jobs as the CLI follows them: here (``LocalJobs``) or through the warm runtime
    (``dunes.services.runtime.RuntimeClient``), the same way."""

    def submit(self, request: Mapping[str, Any]) -> str: ...

    def watch(self, job_id: str, *, timeout: float | None) -> Iterator[JobUpdate]: ...

    def result(self, job_id: str) -> JobResult: ...

    def cancel(self, job_id: str) -> Job: ...

    def still_waiting(self, job_id: str, waited_s: float) -> JobError: ...

    def ended_at(self, job_id: str) -> str | None: ...


class LocalJobs:
    """``JobFollower`` over this process's services."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def submit(self, request: Mapping[str, Any]) -> str:
        return submit_job(services=self.services, request=request, origin="local").job_id

    def watch(self, job_id: str, *, timeout: float | None) -> Iterator[JobUpdate]:
        return watch_job(services=self.services, job_id=job_id, timeout=timeout)

    def result(self, job_id: str) -> JobResult:
        return job_result(services=self.services, job_id=job_id, origin="local")

    def cancel(self, job_id: str) -> Job:
        return cancel_job(services=self.services, job_id=job_id)

    def still_waiting(self, job_id: str, waited_s: float) -> JobError:
        return still_waiting(services=self.services, job_id=job_id, waited_s=waited_s)

    def ended_at(self, job_id: str) -> str | None:
        return work_step(job_events(services=self.services, job_id=job_id))


def follow_to_end(
    jobs: JobFollower,
    job_id: str,
    *,
    timeout: float | None,
    started: float,
    on_update: Callable[[JobUpdate], None] = lambda _update: None,
) -> tuple[JobResult, str | None]:
    """Follow a job (``on_update`` sees each look) to its result and, unless it succeeded, the
    step it ended at.

    Raises:
        JobError: ``timeout`` s after ``started`` (``time.monotonic()``) it goes on; the error
            says where it stands and, when no worker takes it, why.
    """
    left = None if timeout is None else max(timeout - (time.monotonic() - started), 0.0)
    last: JobUpdate | None = None
    for last in jobs.watch(job_id, timeout=left):
        on_update(last)
    if last is None or not last.job.done:
        raise jobs.still_waiting(job_id, time.monotonic() - started)
    result = jobs.result(job_id)
    return result, None if result.status == "succeeded" else jobs.ended_at(job_id)


#: A job's steps share 0..0.99 of its rising progress; its end is 1.0.
STEP_SHARE = 0.99
NUDGE = 1e-4


def rising_progress(event: JobEvent, last: float) -> float | None:
    """The progress to report for ``event`` when it must rise at every report (MCP progress
    notifications): steps 0..0.99, a repeated value nudged up a little but never to 1.0, the
    event that ends the job 1.0; None when nothing higher is left to report."""
    if event.status in TERMINAL_STATUSES:
        return 1.0 if last < 1.0 else None
    value = min(max(event.progress * STEP_SHARE, last + NUDGE), 1.0 - NUDGE)
    return value if value > last else None


async def rising_progress_async(
    *, services: Services, job_id: str, timeout: float | None
) -> AsyncIterator[tuple[float, str]]:
    """Follow a job until it ends or ``timeout`` s pass, as (progress, step message) pairs
    whose progress rises strictly and is 1.0 at the end (see ``rising_progress``)."""
    last = 0.0
    async for update in watch_job_async(services=services, job_id=job_id, timeout=timeout):
        for event in update.events:
            value = rising_progress(event, last)
            if value is not None:
                last = value
                yield value, f"{event.step}: {event.message}" if event.message else event.step


def job_simulation(result: JobResult, index: int | None = None) -> SimulationResult:
    """The simulation of a finished job, or result ``index`` of a batch.

    Raises:
        JobError: the job has not succeeded.
        InvalidInputError: no simulation there (names what there is).
    """
    if result.status != "succeeded":
        raise JobError(
            f"job {result.job_id} is {result.status}; results exist once it has succeeded",
            field="job_id",
        )
    if index is not None:
        if not result.results or index >= len(result.results):
            count = len(result.results or [])
            raise InvalidInputError(
                f"index {index} out of range: the job has {count} batch result(s)", field="index"
            )
        return result.results[index]
    if result.simulation is None:
        if result.results:
            raise InvalidInputError("this job is a batch: give the index", field="index")
        raise InvalidInputError(f"job {result.job_id} has no simulation", field="job_id")
    return result.simulation


@io_bound
def job_statevector(*, services: Services, job_id: str) -> dict[str, Any]:
    """A finished job's final state as JSON (``[re, im]`` pairs, qubit 0 rightmost), for
    states small enough for JSON (``quantum.statevector_json_max_qubits``).

    Raises:
        JobError: no single simulation with a kept state. ArtifactError: the state is too big
            for JSON (the error names its ``.npy`` artifact).
    """
    from dunes.errors import ArtifactError
    from dunes.quantum.result import complex_pairs

    result = job_result(services=services, job_id=job_id, origin="network")
    simulation = result.simulation
    if simulation is None and result.results and len(result.results) == 1:
        simulation = result.results[0]
    if simulation is None:
        raise JobError(f"job {job_id} ({result.status}) has no single simulation with a state")
    limit = services.settings.quantum.statevector_json_max_qubits
    if simulation.num_qubits > limit:
        artifact = simulation.artifact
        where = f"; the state is in {artifact.path} (sha256 {artifact.sha256})" if artifact else ""
        raise ArtifactError(
            f"a {simulation.num_qubits}-qubit state is too large for JSON (limit {limit} "
            f"qubits, setting quantum.statevector_json_max_qubits){where}"
        )
    if simulation.state is None:
        raise JobError(f"job {job_id} kept no statevector (it was sampled only)")
    return {
        "job_id": result.job_id,
        "num_qubits": simulation.num_qubits,
        "circuit": simulation.circuit,
        "statevector": complex_pairs(simulation.state),
    }


async def watch_jobs_async(
    *, services: Services, status: str | None, kind: str | None, limit: int, every_s: float = 0.5
) -> AsyncIterator[JobPage]:
    """The newest jobs, now and again whenever the page changes (it never ends by itself)."""
    import asyncio

    from dunes.services.threads import in_thread

    last = None
    while True:
        page = await in_thread(list_jobs, services=services, status=status, kind=kind, limit=limit)
        if page != last:
            last = page
            yield page
        await asyncio.sleep(every_s)
