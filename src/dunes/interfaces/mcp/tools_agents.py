"""MCP tools for the agents: plan_circuit, run_agent."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from dunes.constants import Role
from dunes.interfaces.mcp.deps import READS, Services, run_tool
from dunes.services import agents as agent_service
from dunes.services.requests import AgentText


def register(server: MCPServer, services: Services) -> None:
    """Add the agent tools to ``server``."""

    @server.tool(
        title="Plan a circuit",
        annotations=READS,
    )
    async def plan_circuit(task: AgentText) -> dict[str, Any]:
        """Pick the circuit family and parameters for a task (planner and extraction agents).

        Returns the circuit in seed notation (`circuit`), ready for simulate_circuit; `family`
        is null and `reason` says why when no family fits. Nothing runs and nothing is recorded.
        """
        return await run_tool(agent_service.run_role, services=services, role="planner", text=task)

    @server.tool(
        title="Run one agent",
        annotations=READS,
    )
    async def run_agent(role: Role, text: AgentText) -> dict[str, Any]:
        """Run one agent role on a task; the roles before it run as needed.

        planner: the circuit family; extraction: qubits, shots, angles and bitstrings found in
        the text; validation: checks of the planned circuit; synthesis: simulate and report.
        """
        return await run_tool(agent_service.run_role, services=services, role=role, text=text)
