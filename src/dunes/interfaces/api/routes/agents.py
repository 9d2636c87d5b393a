"""Run one agent role (planner, extraction, validation, synthesis) on a text."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from dunes.constants import Role
from dunes.interfaces.api.deps import GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.services import agents as agent_service
from dunes.services.requests import AgentInput

router = APIRouter(prefix="/v1/agents", tags=["agents"], responses=PROBLEM_RESPONSES)


@router.get("", summary="Where each role runs and with which model")
async def placement(gateway: GatewayDep) -> agent_service.Placement:
    return await gateway.run(agent_service.placement, services=gateway.services)


@router.post(
    "/{role}",
    summary="Run one role (the roles before it run as needed)",
    response_description="The role's output: role, device, model, and what the role found.",
)
async def run_role(
    role: Annotated[Role, Path(description="The agent role.")],
    gateway: GatewayDep,
    body: AgentInput,
) -> dict[str, Any]:
    return await gateway.run(
        agent_service.run_role,
        services=gateway.services,
        role=role,
        text=body.text,
        embedding=body.embedding,
    )
