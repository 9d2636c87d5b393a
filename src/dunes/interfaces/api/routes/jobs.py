"""Jobs: submit, list, follow (Server-Sent Events), fetch results and artifacts, cancel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from dunes.constants import JobStatus
from dunes.interfaces.api.deps import GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.orchestration import Job, JobRequest, JobResult
from dunes.orchestration.jobs import JobKind
from dunes.services import jobs as job_service
from dunes.services import simulation as simulation_service
from dunes.services.public import JobPage

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=PROBLEM_RESPONSES)

JobId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        pattern="^[A-Za-z0-9_-]+$",
        description="The job id POST /v1/jobs returned, or a unique prefix of it.",
        examples=["3f9c2a7d0b8e4c51a6d2e9f0b1c3d5e7"],
    ),
]
Index = Annotated[int | None, Query(ge=0, le=10_000, description="Which result of a batch.")]
Timeout = Annotated[
    float | None,
    Query(gt=0, le=86_400, description="Seconds to wait; capped by api.sync_wait_timeout_s."),
]


class JobAccepted(BaseModel):
    """A job was queued; follow it at ``location``."""

    job_id: str = Field(examples=["3f9c2a7d0b8e4c51a6d2e9f0b1c3d5e7"])
    status: JobStatus = Field(examples=["queued"])
    location: str = Field(examples=["/v1/jobs/3f9c2a7d0b8e4c51a6d2e9f0b1c3d5e7"])


def accepted(job: Job, response: Response) -> JobAccepted:
    location = f"{router.prefix}/{job.job_id}"
    response.status_code = 202
    response.headers["Location"] = location
    return JobAccepted(job_id=job.job_id, status=job.status, location=location)


@router.post(
    "",
    summary="Submit a job (task, circuit, circuits/sweep, or MAML document)",
    status_code=202,
    response_model=JobAccepted | JobResult,
    responses={
        200: {"model": JobResult, "description": "With wait=true: the job finished in time."},
        202: {"model": JobAccepted, "description": "Queued (or still running); see Location."},
    },
)
async def submit_job(
    gateway: GatewayDep,
    response: Response,
    request: JobRequest,
    wait: Annotated[
        bool, Query(description="Block until the job is done (or the timeout).")
    ] = False,
    timeout: Timeout = None,
) -> JobAccepted | JobResult:
    svc = gateway.services
    if not wait:
        job = await gateway.run(
            job_service.submit_job, services=svc, request=request, origin="network"
        )
        return accepted(job, response)
    job, result = await gateway.run(
        job_service.submit_and_wait,
        services=svc,
        request=request,
        origin="network",
        timeout=timeout,
    )
    if result is None:
        return accepted(job, response)
    gateway.metrics.observe_job(job)
    response.status_code = 200
    return result


@router.get("", summary="List jobs, newest first")
async def list_jobs(
    gateway: GatewayDep,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this state.")] = None,
    kind: Annotated[JobKind | None, Query(description="Only this kind.")] = None,
    since: Annotated[
        datetime | None, Query(description="Only jobs created at or after this time (ISO 8601).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> JobPage:
    page = await gateway.run(
        job_service.list_jobs,
        services=gateway.services,
        status=status,
        kind=kind,
        since=since,
        limit=limit,
        offset=offset,
    )
    for job in page.jobs:
        gateway.metrics.observe_job(job)
    return page


@router.get(
    "/stream",
    summary="The job list as Server-Sent Events, sent again whenever it changes",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "`event: jobs` (data: a JobPage) at once and after every change.",
        }
    },
)
async def stream_jobs(
    request: Request,
    gateway: GatewayDep,
    status: Annotated[JobStatus | None, Query()] = None,
    kind: Annotated[JobKind | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EventSourceResponse:
    async def pages() -> AsyncIterator[ServerSentEvent]:
        watched = job_service.watch_jobs_async(
            services=gateway.services, status=status, kind=kind, limit=limit
        )
        async for page in watched:
            if await request.is_disconnected():
                return
            yield ServerSentEvent(data=page.model_dump_json(), event="jobs")

    return EventSourceResponse(pages(), ping=15)


@router.get(
    "/{job_id}/circuit.png",
    summary="The circuit of a job, drawn as a PNG",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "A PNG image"}},
)
async def job_circuit(job_id: JobId, gateway: GatewayDep) -> Response:
    from dunes.errors import InvalidInputError

    result = await gateway.run(
        job_service.job_result, services=gateway.services, job_id=job_id, origin="network"
    )
    if not result.circuit:
        raise InvalidInputError(f"job {result.job_id} has no circuit (yet)", field="job_id")
    png = await gateway.run(simulation_service.circuit_drawing_png, result.circuit)
    return Response(png, media_type="image/png")


@router.get("/{job_id}", summary="Where a job stands")
async def get_job(job_id: JobId, gateway: GatewayDep) -> Job:
    job = await gateway.run(job_service.get_job, services=gateway.services, job_id=job_id)
    gateway.metrics.observe_job(job)
    return job


@router.get(
    "/{job_id}/result",
    summary="A job's result (status tells whether it is final)",
    responses={202: {"model": JobAccepted, "description": "Not done yet (with wait: timed out)"}},
)
async def get_result(
    job_id: JobId,
    gateway: GatewayDep,
    response: Response,
    wait: Annotated[bool, Query(description="Block until the job is done.")] = False,
    timeout: Timeout = None,
) -> JobResult:
    svc = gateway.services
    if wait:
        result = await gateway.run(
            job_service.wait_for_job,
            services=svc,
            job_id=job_id,
            timeout=job_service.sync_wait_s(services=svc, timeout=timeout),
            origin="network",
        )
    else:
        result = await gateway.run(
            job_service.job_result, services=svc, job_id=job_id, origin="network"
        )
    if result is None or result.status in ("queued", "running"):
        job = await gateway.run(job_service.get_job, services=svc, job_id=job_id)
        return accepted(job, response)  # type: ignore[return-value]
    return result


@router.delete("/{job_id}", summary="Cancel a queued or running job")
async def cancel_job(job_id: JobId, gateway: GatewayDep) -> Job:
    return await gateway.run(job_service.cancel_job, services=gateway.services, job_id=job_id)


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
    gateway: GatewayDep,
    after: Annotated[int, Query(ge=0, le=2**31, description="Resume after this seq.")] = 0,
    last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> EventSourceResponse:
    job = await gateway.run(job_service.get_job, services=gateway.services, job_id=job_id)
    if last_event_id and last_event_id.isdigit():
        after = max(after, int(last_event_id))
    return EventSourceResponse(_events(gateway, job.job_id, after, request), ping=15)


async def _events(
    gateway: GatewayDep, job_id: str, after: int, request: Request
) -> AsyncIterator[ServerSentEvent]:
    updates = job_service.watch_job_async(services=gateway.services, job_id=job_id, after_seq=after)
    async for update in updates:
        for event in update.events:
            yield ServerSentEvent(data=event.model_dump_json(), event="progress", id=str(event.seq))
        if update.job.done:
            seq = update.events[-1].seq if update.events else after
            yield ServerSentEvent(data=update.job.model_dump_json(), event="end", id=str(seq))
        elif await request.is_disconnected():
            return


async def _simulation(gateway: GatewayDep, job_id: str, index: int | None) -> Any:
    result = await gateway.run(
        job_service.job_result, services=gateway.services, job_id=job_id, origin="local"
    )
    return job_service.job_simulation(result, index)


@router.get(
    "/{job_id}/statevector.npy",
    summary="The final statevector of a job as a .npy file",
    response_class=Response,
    responses={200: {"content": {"application/x-npy": {}}, "description": "A .npy file"}},
)
async def job_statevector(job_id: JobId, gateway: GatewayDep, index: Index = None) -> Response:
    simulation = await _simulation(gateway, job_id, index)
    body = await gateway.run(simulation_service.statevector_npy, simulation)
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
async def job_histogram(job_id: JobId, gateway: GatewayDep, index: Index = None) -> Response:
    simulation = await _simulation(gateway, job_id, index)
    png = await gateway.run(simulation_service.histogram_png, simulation)
    return Response(png, media_type="image/png")
