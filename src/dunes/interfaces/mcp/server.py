"""The dunes MCP server: one factory, the same server object for stdio, HTTP and tests."""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import MCPServer

from dunes.config import Settings, get_settings
from dunes.interfaces.mcp import (
    prompts,
    resources,
    tools_agents,
    tools_graph,
    tools_jobs,
    tools_maml,
    tools_quantum,
)
from dunes.interfaces.mcp.deps import Services

if TYPE_CHECKING:
    from dunes.orchestration import Orchestrator

INSTRUCTIONS = """\
dunes simulates quantum circuits with Qiskit Aer on the GPUs of this host (or its CPU) and runs
small transformer agents that turn a task in plain words into a circuit, a simulation and a report.
Circuits: seed notation 'h(0); cx(0,1); measure' (parameters first, then qubits), OpenQASM 2/3,
or a JSON gate list. Start with simulate_circuit; list_gpus shows the devices."""


class DunesServer(MCPServer[Any]):
    """An ``MCPServer`` that also holds the services its tools call."""

    def __init__(self, services: Services) -> None:
        super().__init__(
            "dunes",
            title="dunes",
            version=_version(),
            instructions=INSTRUCTIONS,
            log_level=_sdk_log_level(services.settings.log_level),
        )
        self.services = services

    def close(self) -> None:
        """Close what the server built (an orchestrator passed in stays open)."""
        self.services.close()


def create_server(
    settings: Settings | None = None, orchestrator: Orchestrator | None = None
) -> DunesServer:
    """Build the dunes MCP server.

    ``orchestrator`` is used as given and never closed here; without one it is built from
    ``settings`` on the first tool call that needs it, and ``server.close()`` closes it.
    """
    services = Services(settings or get_settings(), orchestrator=orchestrator)
    server = DunesServer(services)
    for module in (tools_quantum, tools_jobs, tools_agents, tools_graph, tools_maml):
        module.register(server, services)
    tools_quantum.register_sweep(server, services)
    resources.register(server, services)
    prompts.register(server, services)
    return server


def _version() -> str:
    try:
        return metadata.version("dunes-mcp")
    except metadata.PackageNotFoundError:
        return "0"


def _sdk_log_level(level: str) -> Any:
    wanted = level.upper()
    return wanted if wanted in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"} else "WARNING"
