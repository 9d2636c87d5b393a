"""MCP tools for the agents: plan_circuit, run_agent."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations
from pydantic import Field

from dunes.agents import PlanResult
from dunes.interfaces.mcp.deps import Services, run_tool
from dunes.interfaces.mcp.schemas import AgentOut, PlanOut, without_embedding

Text = Annotated[
    str,
    Field(min_length=1, max_length=10_000, description="A task in plain words, or a circuit."),
]


def register(server: MCPServer, services: Services) -> None:
    """Add the agent tools to ``server``."""

    @server.tool(
        title="Plan a circuit",
        annotations=ToolAnnotations(
            read_only_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def plan_circuit(task: Text) -> PlanOut:
        """Pick the circuit family and parameters for a task (planner and extraction agents).

        Returns the circuit in seed notation, ready for simulate_circuit; `family` is null and
        `reason` says why when no family fits. Nothing runs and nothing is recorded.
        """
        plan = await run_tool(services.agents.plan, task)
        return PlanOut.from_plan(plan)

    @server.tool(
        title="Run one agent",
        annotations=ToolAnnotations(
            read_only_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def run_agent(
        role: Literal["planner", "extraction", "validation", "synthesis"], text: Text
    ) -> AgentOut:
        """Run one agent role on a task; the roles before it run as needed.

        planner: the circuit family; extraction: qubits, shots, angles and bitstrings found in
        the text; validation: checks of the planned circuit; synthesis: simulate and report.
        """
        output = await run_tool(services.agents.run_role, role, text)
        data = output.public() if isinstance(output, PlanResult) else output.model_dump(mode="json")
        return AgentOut(
            role=output.role,
            device=output.device,
            model=output.model,
            output=without_embedding(
                {k: v for k, v in data.items() if k not in ("role", "device", "model")}
            ),
        )
