"""``POST /orchestrate-quantum-simulation``: the seed's endpoint, with the JSON body its curl sends.

The seed declared ``async def orchestrate_simulation(task: str)``, which FastAPI reads as a query
parameter, so its own ``-d '{"task": ...}'`` example was refused with a 422. Here the task is a
JSON body; the work runs as a job on the Orchestrator and the call waits for it up to
``api.sync_wait_timeout_s`` (then 202 with the job id and a ``Location``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dunes.interfaces.api.deps import ClientDep, GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES, problem_response
from dunes.interfaces.api.routes.jobs import JobAccepted, accepted
from dunes.orchestration import JobRequest
from dunes.orchestration.jobs import RoleSummary
from dunes.services import jobs as job_service

router = APIRouter(tags=["seed"], responses=PROBLEM_RESPONSES)


class SeedTask(BaseModel):
    """The seed's request body."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"task": "Design a 4-qubit GHZ state"}]}
    )

    task: str = Field(min_length=1, max_length=10_000, description="The task in plain words.")


class SeedResult(BaseModel):
    """The seed's response (circuit, statevector, llm_outputs) plus the job it ran as."""

    job_id: str
    status: str = Field(examples=["succeeded"])
    circuit: str | None = Field(None, examples=["h(0); cx(0,1); cx(1,2); cx(2,3)"])
    statevector: list[tuple[float, float]] | None = Field(
        None, description="Amplitudes as [re, im]; null above quantum.statevector_json_max_qubits."
    )
    counts: dict[str, int] | None = None
    llm_outputs: dict[str, RoleSummary] = Field(
        description="Per role (planner, extraction, validation, synthesis): device, model, result."
    )
    report: dict[str, Any] | None = None
    device: str | None = None


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
    _client: ClientDep,
    response: Response,
    body: Annotated[
        SeedTask,
        Body(
            openapi_examples={
                "ghz": {
                    "summary": "The seed's curl example",
                    "value": {"task": "Design a 4-qubit GHZ state"},
                }
            }
        ),
    ],
) -> SeedResult | JobAccepted | JSONResponse:
    svc = gateway.services
    job = await gateway.run(
        job_service.submit_job, services=svc, request=JobRequest(task=body.task), origin="network"
    )
    job_id = job.job_id
    result = await gateway.run(
        job_service.wait_for_job,
        services=svc,
        job_id=job_id,
        timeout=gateway.settings.api.sync_wait_timeout_s,
        origin="network",
    )
    if result is None:
        return accepted(
            await gateway.run(job_service.get_job, services=svc, job_id=job_id), response
        )
    gateway.observe(await gateway.run(job_service.get_job, services=svc, job_id=job_id))
    if result.status != "succeeded":
        return problem_response(
            status=422 if result.status == "failed" else 409,
            slug="job-failed" if result.status == "failed" else "job-cancelled",
            title="Job failed" if result.status == "failed" else "Job cancelled",
            detail=result.error or f"the job ended {result.status}",
            instance="/orchestrate-quantum-simulation",
            field="task",
            job_id=job_id,
        )
    return SeedResult(
        job_id=job_id,
        status=result.status,
        circuit=result.circuit,
        statevector=result.statevector,
        counts=result.counts,
        llm_outputs=result.llm_outputs,
        report=result.report,
        device=result.device,
    )
