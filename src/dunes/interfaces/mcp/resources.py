"""MCP resources: read-only views of devices, jobs, the graph and the shipped MAML examples."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from dunes.devices import discover
from dunes.interfaces.mcp.deps import Services, run_resource
from dunes.interfaces.mcp.schemas import GpusOut
from dunes.quantum.backend import aer_info


def register(server: MCPServer, services: Services) -> None:
    """Add the resources to ``server``."""

    @server.resource(
        "dunes://gpus",
        name="gpus",
        title="Devices",
        description="GPUs and CPU this server can use, with free memory, and the Aer build.",
        mime_type="application/json",
    )
    async def gpus() -> str:
        out = await run_resource(lambda: GpusOut.build(discover(), aer_info()))
        return out.model_dump_json(indent=2)
