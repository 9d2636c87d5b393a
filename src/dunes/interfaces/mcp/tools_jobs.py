"""MCP tools for jobs: orchestrate, get_job, cancel_job, list_jobs."""

from __future__ import annotations

import contextlib
import time
from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from dunes.errors import DunesError
from dunes.interfaces.mcp.deps import Services, run_tool
from dunes.interfaces.mcp.schemas import JobListOut, JobOut, JobResultOut
from dunes.orchestration import JobEvent, JobRequest
from dunes.orchestration.jobs import TERMINAL_STATUSES
from dunes.validation import parse_model

POLL_S = 0.1
#: Steps share 0..0.99 of the progress; the end of the job is 1.0.
STEP_SHARE = 0.99
NUDGE = 1e-4

JobId = Annotated[str, Field(min_length=1, max_length=128, description="The job id.")]
Timeout = Annotated[
    float | None,
    Field(gt=0, description="Seconds to wait (default: the server's api.sync_wait_timeout_s)."),
]


def progress_value(event: JobEvent, last: float) -> float | None:
    """The progress to report for ``event``: strictly above ``last``, as the protocol wants.

    Steps report 0..0.99 (a step that repeats a value is nudged up a little, never to 1.0), the
    event that ends the job reports 1.0; None when nothing higher is left to report.
    """
    if event.status in TERMINAL_STATUSES:
        return 1.0 if last < 1.0 else None
    value = min(max(event.progress * STEP_SHARE, last + NUDGE), 1.0 - NUDGE)
    return value if value > last else None


async def follow_job(
    services: Services,
    job_id: str,
    ctx: Context,
    *,
    timeout: float | None,
    cancel_job_on_cancel: bool,
) -> JobResultOut:
    """Wait for a job, reporting each step as progress.

    With ``cancel_job_on_cancel``, cancelling the call cancels the job. Past ``timeout`` the job
    keeps running and the answer says ``done: false``.
    """
    orchestrator = services.orchestrator

    def events_after(seq: int) -> list[JobEvent]:
        return list(orchestrator.events(job_id, after_seq=seq))

    limit = services.settings.api.sync_wait_timeout_s if timeout is None else timeout
    deadline = time.monotonic() + limit
    seq = 0
    last = 0.0
    await ctx.report_progress(0.0, 1.0, f"job {job_id}")
    try:
        while True:
            events = await run_tool(events_after, seq)
            for event in events:
                seq = event.seq
                value = progress_value(event, last)
                if value is not None:
                    last = value
                    message = f"{event.step}: {event.message}" if event.message else event.step
                    await ctx.report_progress(value, 1.0, message)
            job = await run_tool(orchestrator.status, job_id)
            if job.done:
                if await run_tool(events_after, seq):
                    continue  # report the last events before answering
                result = await run_tool(orchestrator.result, job_id, wait=False)
                return JobResultOut.build(job, result)
            if time.monotonic() >= deadline:
                return JobResultOut.build(job, None)
            await anyio.sleep(POLL_S)
    except anyio.get_cancelled_exc_class():
        if cancel_job_on_cancel:
            with anyio.CancelScope(shield=True), contextlib.suppress(DunesError):
                await anyio.to_thread.run_sync(orchestrator.cancel, job_id)
        raise


async def submit_and_follow(
    services: Services,
    request: dict[str, Any],
    ctx: Context,
    *,
    wait: bool,
    timeout: float | None,
) -> JobResultOut:
    """Submit a job request; with ``wait`` follow it to the end, else answer with its id.

    Raises:
        ToolError: the request is malformed, or the job failed or was cancelled while waited on.
    """
    orchestrator = services.orchestrator
    parsed = await run_tool(parse_model, JobRequest, request)
    job_id = await run_tool(orchestrator.submit, parsed)
    if not wait:
        job = await run_tool(orchestrator.status, job_id)
        return JobResultOut.build(job, None)
    out = await follow_job(services, job_id, ctx, timeout=timeout, cancel_job_on_cancel=True)
    if out.job.status in ("failed", "cancelled"):
        where = f" at step {out.job.step}" if out.job.step else ""
        raise ToolError(
            f"job {job_id} {out.job.status}{where}: {out.job.error or 'no reason given'}"
        )
    return out


def register(server: MCPServer, services: Services) -> None:
    """Add the job tools to ``server``."""

    @server.tool(
        title="Orchestrate a task",
        annotations=ToolAnnotations(
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=False,
        ),
    )
    async def orchestrate(
        task: Annotated[
            str,
            Field(
                min_length=1,
                max_length=10_000,
                description="The task in plain words, e.g. 'a 3-qubit GHZ state, 1000 shots'.",
            ),
        ],
        ctx: Context,
        shots: Annotated[
            int | None, Field(ge=0, description="Samples; default: what the task says, or 0.")
        ] = None,
        seed: Annotated[int | None, Field(ge=0, description="Seed for sampling.")] = None,
        wait: Annotated[
            bool, Field(description="True: report progress until done. False: return the job id.")
        ] = True,
        timeout_s: Timeout = None,
    ) -> JobResultOut:
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

    @server.tool(
        title="Get a job",
        annotations=ToolAnnotations(
            read_only_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def get_job(
        job_id: JobId,
        ctx: Context,
        wait: Annotated[
            bool, Field(description="Wait until the job is done, reporting progress.")
        ] = False,
        timeout_s: Timeout = None,
    ) -> JobResultOut:
        """Where a job stands and, once done, its report, circuit, counts and graph ids.

        Cancelling a waiting call stops the wait, not the job (cancel_job does that).
        """
        if wait:
            return await follow_job(
                services, job_id, ctx, timeout=timeout_s, cancel_job_on_cancel=False
            )
        orchestrator = services.orchestrator
        job = await run_tool(orchestrator.status, job_id)
        result = await run_tool(orchestrator.result, job_id, wait=False) if job.done else None
        return JobResultOut.build(job, result)

    @server.tool(
        title="Cancel a job",
        annotations=ToolAnnotations(
            read_only_hint=False,
            destructive_hint=True,
            idempotent_hint=True,
            open_world_hint=False,
        ),
    )
    async def cancel_job(job_id: JobId) -> JobOut:
        """Cancel a queued or running job (a finished job is returned unchanged)."""
        job = await run_tool(services.orchestrator.cancel, job_id)
        return JobOut.from_job(job)

    @server.tool(
        title="List jobs",
        annotations=ToolAnnotations(
            read_only_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def list_jobs(
        status: Literal["queued", "running", "succeeded", "failed", "cancelled"] | None = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 20,
        offset: Annotated[int, Field(ge=0)] = 0,
    ) -> JobListOut:
        """Jobs, newest first, optionally with one status."""
        jobs = await run_tool(services.orchestrator.list, status=status, limit=limit, offset=offset)
        return JobListOut(jobs=[JobOut.from_job(j) for j in jobs])
