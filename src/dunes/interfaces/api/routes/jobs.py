"""Jobs: submit, list, follow (Server-Sent Events), fetch results and artifacts, cancel."""

from __future__ import annotations

import asyncio
import io
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Body, Header, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from dunes.errors import InvalidInputError, JobError, JobNotFoundError
from dunes.interfaces.api.deps import ClientDep, Gateway, GatewayDep, OrchestratorDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.interfaces.api.routes.simulate import public_result
from dunes.orchestration import Job, JobEvent, JobRequest, JobResult, Orchestrator
from dunes.orchestration.jobs import JobStatus
from dunes.quantum import SimulationResult

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=PROBLEM_RESPONSES)

JobId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        pattern="^[A-Za-z0-9_-]+$",
        description="The id POST /v1/jobs returned.",
        examples=["3f9c2a7d0b8e4c51a6d2e9f0b1c3d5e7"],
    ),
]

JOB_EXAMPLES: dict[str, Any] = {
    "task": {
        "summary": "A task in plain words for the agents",
        "value": {"task": "Design a 4-qubit GHZ state"},
    },
    "circuit": {
        "summary": "One circuit with shots",
        "value": {"circuit": "h(0); cx(0,1); measure", "shots": 1000, "seed": 7},
    },
    "batch": {
        "summary": "A batch of circuits",
        "value": {"circuits": ["h(0)", "x(0); h(1)"]},
    },
    "sweep": {
        "summary": "A parameter sweep",
        "value": {"circuit": "rx({theta}, 0)", "sweep": {"theta": [0, 1.5708, 3.1416]}},
    },
}


class JobAccepted(BaseModel):
    """A job was queued; follow it at ``location``."""

    job_id: str = Field(examples=["3f9c2a7d0b8e4c51a6d2e9f0b1c3d5e7"])
    status: JobStatus = Field(examples=["queued"])
    location: str = Field(examples=["/v1/jobs/3f9c2a7d0b8e4c51a6d2e9f0b1c3d5e7"])


class JobPage(BaseModel):
    """A page of jobs, newest first."""

    jobs: list[Job]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last.")


def location_of(job_id: str) -> str:
    return f"{router.prefix}/{job_id}"


def public_job_result(result: JobResult) -> JobResult:
    """The result as clients see it: artifact paths become download URLs, no server paths."""
    update: dict[str, Any] = {}
    if result.maml and "workdir" in result.maml:
        update["maml"] = {k: v for k, v in result.maml.items() if k != "workdir"}
    if result.simulation is not None:
        update["simulation"] = public_result(result.simulation)
    if result.results:
        update["results"] = [public_result(r) for r in result.results]
    return result.model_copy(update=update) if update else result


def wait_for_result(orch: Orchestrator, job_id: str, timeout: float) -> JobResult | None:
    """The result once the job is done, or None when it is still running after ``timeout``."""
    try:
        return orch.result(job_id, wait=True, timeout=timeout)
    except JobNotFoundError:
        raise
    except JobError:
        if orch.status(job_id).done:
            return orch.result(job_id, wait=False)
        return None


def observe(gateway: Gateway, job: Job) -> None:
    """Feed a finished job's latency to the metrics (once per job)."""
    if job.done and job.created_at is not None and job.finished_at is not None:
        gateway.metrics.observe_job(
            job.job_id,
            kind=job.kind,
            status=job.status,
            seconds=(job.finished_at - job.created_at).total_seconds(),
        )


def accepted(job_id: str, status: str, response: Response) -> JobAccepted:
    response.status_code = 202
    response.headers["Location"] = location_of(job_id)
    return JobAccepted(job_id=job_id, status=status, location=location_of(job_id))  # type: ignore[arg-type]


def wait_timeout(gateway: Gateway, timeout: float | None) -> float:
    limit = gateway.settings.api.sync_wait_timeout_s
    return limit if timeout is None else min(timeout, limit)


@router.post(
    "",
    summary="Submit a job (task, circuit, circuits/sweep, or MAML document)",
    status_code=202,
    response_model=JobAccepted | JobResult,
    responses={
        200: {"model": JobResult, "description": "With wait=true: the job finished in time."},
        202: {
            "model": JobAccepted,
            "description": "Queued (or still running after the wait); see Location.",
        },
    },
)
async def submit_job(
    gateway: GatewayDep,
    orch: OrchestratorDep,
    _client: ClientDep,
    response: Response,
    request: Annotated[JobRequest, Body(openapi_examples=JOB_EXAMPLES)],
    wait: Annotated[
        bool, Query(description="Block until the job is done (or the timeout).")
    ] = False,
    timeout: Annotated[
        float | None,
        Query(gt=0, le=86_400, description="Seconds to wait; capped by api.sync_wait_timeout_s."),
    ] = None,
) -> JobAccepted | JobResult:
    if request.maml is not None and "\n" not in request.maml.strip():
        # The orchestrator reads a path for local callers; a server never opens a client's path.
        raise InvalidInputError(
            "maml must hold the document itself (front matter, sections, code blocks), "
            "not a file name",
            field="maml",
        )
    job_id = await run_in_threadpool(orch.submit, request)
    if not wait:
        return accepted(job_id, "queued", response)
    result = await run_in_threadpool(wait_for_result, orch, job_id, wait_timeout(gateway, timeout))
    if result is None:
        return accepted(job_id, "running", response)
    observe(gateway, await run_in_threadpool(orch.status, job_id))
    response.status_code = 200
    return public_job_result(result)


@router.get("", summary="List jobs, newest first")
async def list_jobs(
    gateway: GatewayDep,
    orch: OrchestratorDep,
    _client: ClientDep,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this state.")] = None,
    kind: Annotated[
        Literal["task", "circuit", "batch", "maml"] | None, Query(description="Only this kind.")
    ] = None,
    since: Annotated[
        datetime | None, Query(description="Only jobs created at or after this time (ISO 8601).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> JobPage:
    jobs = await run_in_threadpool(
        lambda: orch.list(status=status, kind=kind, since=since, limit=limit, offset=offset)
    )
    for job in jobs:
        observe(gateway, job)
    return JobPage(
        jobs=jobs,
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(jobs) == limit else None,
    )


@router.get("/{job_id}", summary="Where a job stands")
async def get_job(
    job_id: JobId, gateway: GatewayDep, orch: OrchestratorDep, _client: ClientDep
) -> Job:
    job = await run_in_threadpool(orch.status, job_id)
    observe(gateway, job)
    return job


@router.get(
    "/{job_id}/result",
    summary="A job's result (status tells whether it is final)",
    responses={202: {"model": JobAccepted, "description": "Not done yet (with wait: timed out)"}},
)
async def get_result(
    job_id: JobId,
    gateway: GatewayDep,
    orch: OrchestratorDep,
    _client: ClientDep,
    response: Response,
    wait: Annotated[bool, Query(description="Block until the job is done.")] = False,
    timeout: Annotated[float | None, Query(gt=0, le=86_400)] = None,
) -> JobResult:
    if wait:
        result = await run_in_threadpool(
            wait_for_result, orch, job_id, wait_timeout(gateway, timeout)
        )
    else:
        result = await run_in_threadpool(lambda: orch.result(job_id, wait=False))
    if result is None or result.status in ("queued", "running"):
        status = "running" if result is None else result.status
        return accepted(job_id, status, response)  # type: ignore[return-value]
    return public_job_result(result)


@router.delete("/{job_id}", summary="Cancel a queued or running job")
async def cancel_job(job_id: JobId, orch: OrchestratorDep, _client: ClientDep) -> Job:
    return await run_in_threadpool(orch.cancel, job_id)


@router.get(
    "/{job_id}/events",
    summary="Progress as Server-Sent Events until the job is done",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "`event: progress` per step (data: a JobEvent), then `event: end`.",
        }
    },
)
async def job_events(
    job_id: JobId,
    request: Request,
    orch: OrchestratorDep,
    _client: ClientDep,
    after: Annotated[int, Query(ge=0, le=2**31, description="Resume after this seq.")] = 0,
    last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> EventSourceResponse:
    await run_in_threadpool(orch.status, job_id)  # 404 before the stream starts
    if last_event_id and last_event_id.isdigit():
        after = max(after, int(last_event_id))
    return EventSourceResponse(_event_stream(orch, job_id, after, request), ping=15)


async def _event_stream(
    orch: Orchestrator, job_id: str, after: int, request: Request
) -> AsyncIterator[ServerSentEvent]:
    seq = after
    delay = 0.02
    while True:
        batch: list[JobEvent] = await run_in_threadpool(
            lambda after=seq: list(orch.events(job_id, after_seq=after))
        )
        for event in batch:
            seq = event.seq
            yield ServerSentEvent(data=event.model_dump_json(), event="progress", id=str(seq))
        if batch:
            delay = 0.02
            continue
        job = await run_in_threadpool(orch.status, job_id)
        if job.done:
            tail = await run_in_threadpool(
                lambda after=seq: list(orch.events(job_id, after_seq=after))
            )
            for event in tail:
                seq = event.seq
                yield ServerSentEvent(data=event.model_dump_json(), event="progress", id=str(seq))
            yield ServerSentEvent(data=job.model_dump_json(), event="end", id=str(seq))
            return
        if await request.is_disconnected():
            return
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.25)


def _simulation(result: JobResult, index: int | None) -> SimulationResult:
    if index is not None:
        if not result.results or index >= len(result.results):
            count = len(result.results or [])
            raise InvalidInputError(
                f"index {index} out of range: the job has {count} batch result(s)", field="index"
            )
        return result.results[index]
    if result.simulation is None:
        if result.results:
            raise InvalidInputError("this job is a batch: pass ?index=", field="index")
        raise InvalidInputError(
            f"job {result.job_id} has no simulation (status {result.status})", field="job_id"
        )
    return result.simulation


async def _finished_result(orch: Orchestrator, job_id: str) -> JobResult:
    result = await run_in_threadpool(lambda: orch.result(job_id, wait=False))
    if result.status != "succeeded":
        raise JobError(
            f"job {job_id} is {result.status}; artifacts exist once it has succeeded",
            field="job_id",
        )
    return result


Index = Annotated[int | None, Query(ge=0, le=10_000, description="Which result of a batch.")]


@router.get(
    "/{job_id}/statevector.npy",
    summary="The final statevector of a job as a .npy file",
    response_class=Response,
    responses={200: {"content": {"application/x-npy": {}}, "description": "A .npy file"}},
)
async def job_statevector(
    job_id: JobId,
    gateway: GatewayDep,
    orch: OrchestratorDep,
    _client: ClientDep,
    index: Index = None,
) -> Response:
    simulation = _simulation(await _finished_result(orch, job_id), index)

    def render() -> bytes:
        state = simulation.state
        if state is None:
            raise InvalidInputError(
                "this result holds no statevector (it was sampled with shots)", field="job_id"
            )
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(state), allow_pickle=False)
        return buffer.getvalue()

    body = await gateway.run(render)
    return Response(
        body,
        media_type="application/x-npy",
        headers={"Content-Disposition": f'attachment; filename="{job_id}.npy"'},
    )


@router.get(
    "/{job_id}/histogram.png",
    summary="Histogram of a job's counts (or probabilities) as a PNG",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "A PNG image"}},
)
async def job_histogram(
    job_id: JobId,
    gateway: GatewayDep,
    orch: OrchestratorDep,
    _client: ClientDep,
    index: Index = None,
) -> Response:
    simulation = _simulation(await _finished_result(orch, job_id), index)
    if not simulation.counts and not simulation.probabilities:
        raise InvalidInputError("this result has neither counts nor probabilities", field="job_id")

    def render() -> bytes:
        from dunes.quantum.plots import histogram_png

        with tempfile.TemporaryDirectory() as tmp:
            path = histogram_png(simulation, FilePath(tmp) / "histogram.png")
            return path.read_bytes()

    return Response(await gateway.run(render), media_type="image/png")
