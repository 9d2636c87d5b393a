"""MCP tools for jobs: orchestrate, get_job, cancel_job, list_jobs."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from dunes.constants import JobStatus
from dunes.errors import DunesError
from dunes.interfaces.mcp.deps import DEFAULT_TOP, READS, RECORDS, Services, run_tool
from dunes.orchestration import Job, JobResult
from dunes.services import jobs as job_service
from dunes.services.public import JobPage
from dunes.services.requests import JobId, Seed, TaskText
from dunes.services.threads import io_bound

CANCELS = RECORDS.model_copy(update={"destructive_hint": True, "idempotent_hint": True})

Timeout = Annotated[
    float | None,
    Field(gt=0, description="Seconds to wait; at most (and by default) api.sync_wait_timeout_s."),
]


async def follow_job(
    services: Services,
    job_id: str,
    ctx: Context,
    *,
    timeout: float | None,
    cancel_job_on_cancel: bool,
) -> JobResult:
    """Wait for a job, reporting each step as progress.

    With ``cancel_job_on_cancel``, cancelling the call cancels the job. Past ``timeout`` the job
    keeps running and the answer is where it stands (status queued or running).
    """
    job_id = await run_tool(job_service.resolve_job_id, services=services, job_id=job_id)
    limit = job_service.sync_wait_s(services=services, timeout=timeout)
    await ctx.report_progress(0.0, 1.0, f"job {job_id}")
    try:
        rising = job_service.rising_progress_async(services=services, job_id=job_id, timeout=limit)
        async for value, message in rising:
            await ctx.report_progress(value, 1.0, message)
        return await run_tool(result_of, services, job_id)
    except anyio.get_cancelled_exc_class():
        if cancel_job_on_cancel:
            with anyio.CancelScope(shield=True), contextlib.suppress(DunesError):
                await anyio.to_thread.run_sync(
                    lambda: job_service.cancel_job(services=services, job_id=job_id)
                )
        raise


@io_bound
def result_of(services: Services, job_id: str) -> JobResult:
    """The job's public result as it stands, compact for a model to read."""
    return job_service.job_result(
        services=services, job_id=job_id, origin="network", top=DEFAULT_TOP
    )


async def submit_and_follow(
    services: Services,
    request: dict[str, Any],
    ctx: Context,
    *,
    wait: bool,
    timeout: float | None,
) -> JobResult:
    """Submit a job request; with ``wait`` follow it to the end, else answer with where it is.

    Raises:
        ToolError: the request is malformed, or the job failed or was cancelled while waited on.
    """
    job = await run_tool(
        job_service.submit_job, services=services, request=request, origin="network"
    )
    if not wait:
        return await run_tool(result_of, services, job.job_id)
    out = await follow_job(services, job.job_id, ctx, timeout=timeout, cancel_job_on_cancel=True)
    return await run_tool(job_service.unless_failed, services=services, result=out)


def register(server: MCPServer, services: Services) -> None:
    """Add the job tools to ``server``."""

    @server.tool(title="Orchestrate a task", annotations=RECORDS)
    async def orchestrate(
        task: TaskText,
        ctx: Context,
        shots: Annotated[
            int | None, Field(ge=0, description="Samples; default: what the task says, or 0.")
        ] = None,
        seed: Seed = None,
        wait: Annotated[
            bool, Field(description="True: report progress until done. False: return the job id.")
        ] = True,
        timeout_s: Timeout = None,
    ) -> JobResult:
        """Turn a task in plain words into a circuit, a simulation and a report.

        The pipeline (plan, extract, build, validate, simulate, validate, synthesize, store) runs
        as a job on the GPUs; each step is reported as progress. With wait=false the job id comes
        back at once; poll get_job. Cancelling the call cancels the job. A job that fails (say,
        no circuit family fits the task) is a tool error naming the step and the reason.
        """
        request: dict[str, Any] = {"task": task, "seed": seed}
        if shots is not None:
            request["shots"] = shots
        return await submit_and_follow(services, request, ctx, wait=wait, timeout=timeout_s)

    @server.tool(title="Get a job", annotations=READS)
    async def get_job(
        job_id: JobId,
        ctx: Context,
        wait: Annotated[
            bool, Field(description="Wait until the job is done, reporting progress.")
        ] = False,
        timeout_s: Timeout = None,
    ) -> JobResult:
        """Where a job stands and, once done, its report, circuit, counts and graph ids.

        Cancelling a waiting call stops the wait, not the job (cancel_job does that).
        """
        if wait:
            return await follow_job(
                services, job_id, ctx, timeout=timeout_s, cancel_job_on_cancel=False
            )
        return await run_tool(result_of, services, job_id)

    @server.tool(title="Cancel a job", annotations=CANCELS)
    async def cancel_job(job_id: JobId) -> Job:
        """Cancel a queued or running job (a finished job is returned unchanged)."""
        return await run_tool(job_service.cancel_job, services=services, job_id=job_id)

    @server.tool(title="List jobs", annotations=READS)
    async def list_jobs(
        status: JobStatus | None = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 20,
        offset: Annotated[int, Field(ge=0)] = 0,
    ) -> JobPage:
        """Jobs, newest first, optionally with one status."""
        return await run_tool(
            job_service.list_jobs, services=services, status=status, limit=limit, offset=offset
        )
