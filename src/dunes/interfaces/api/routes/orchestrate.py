"""``POST /orchestrate-quantum-simulation``: the seed's endpoint, with the JSON body its curl sends.

The seed declared ``async def orchestrate_simulation(task: str)``, which FastAPI reads as a query
parameter, so its own ``-d '{"task": ...}'`` example was refused with a 422. Here the task is a
JSON body; the work runs as a job on the Orchestrator and the call waits for it up to
``api.sync_wait_timeout_s`` (then 202 with the job id and a ``Location``).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from dunes.interfaces.api.deps import GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.interfaces.api.routes.jobs import JobAccepted, accepted
from dunes.orchestration import JobRequest
from dunes.services import jobs as job_service
from dunes.services.public import SeedResult
from dunes.services.requests import SeedTask

router = APIRouter(tags=["seed"], responses=PROBLEM_RESPONSES)


@router.post(
    "/orchestrate-quantum-simulation",
    summary="Seed-compatible: plan, simulate and report a task, waiting for the job",
    responses={
        200: {"model": SeedResult, "description": "The job finished in time."},
        202: {"model": JobAccepted, "description": "Still running; follow Location."},
    },
    response_model=SeedResult | JobAccepted,
)
async def orchestrate_quantum_simulation(
    gateway: GatewayDep,
    response: Response,
    body: SeedTask,
) -> SeedResult | JobAccepted:
    job, result = await gateway.run(
        job_service.submit_and_wait,
        services=gateway.services,
        request=JobRequest(task=body.task),
        origin="network",
    )
    if result is None:
        return accepted(job, response)
    gateway.metrics.observe_job(job)
    ended = await gateway.run(job_service.unless_failed, services=gateway.services, result=result)
    return SeedResult.of(ended)
