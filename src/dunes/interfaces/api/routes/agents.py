"""Run one agent role (planner, extraction, validation, synthesis) on a text."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, ConfigDict, Field

from dunes.agents import PlanResult
from dunes.interfaces.api.deps import ClientDep, GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1/agents", tags=["agents"], responses=PROBLEM_RESPONSES)

RoleName = Literal["planner", "extraction", "validation", "synthesis"]


class AgentInput(BaseModel):
    """The text a role works on: a task in plain words, or a circuit."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=10_000, examples=["Design a 4-qubit GHZ state"])
    embedding: bool = Field(False, description="Keep the output's embedding vector.")


class Placement(BaseModel):
    """Where each role's model runs."""

    placement: dict[str, str] = Field(examples=[{"planner": "cuda:0", "extraction": "cuda:1"}])
    models: dict[str, str]


@router.get("", summary="Where each role runs and with which model")
async def placement(gateway: GatewayDep, _client: ClientDep) -> Placement:
    def run() -> Placement:
        runtime = gateway.agents()
        where = runtime.placement()
        return Placement(
            placement={role: device.id for role, device in where.items()},
            models={role: runtime.model_name(role) for role in where},
        )

    return await gateway.run(run)


@router.post(
    "/{role}",
    summary="Run one role (the roles before it run as needed)",
    response_description="The role's output: role, device, model, and what the role found.",
)
async def run_role(
    role: Annotated[RoleName, Path(description="The agent role.")],
    gateway: GatewayDep,
    _client: ClientDep,
    body: Annotated[
        AgentInput,
        Body(
            openapi_examples={
                "plan": {"summary": "Plan a task", "value": {"text": "Design a 4-qubit GHZ state"}}
            }
        ),
    ],
) -> dict[str, Any]:
    output = await gateway.run(lambda: gateway.agents().run_role(role, body.text))
    data = output.public() if isinstance(output, PlanResult) else output.model_dump(mode="json")
    if not body.embedding:
        data.pop("embedding", None)
    return data
