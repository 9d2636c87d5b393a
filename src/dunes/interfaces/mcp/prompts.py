"""MCP prompts: conversation starters that lead a model to the dunes tools."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from dunes.interfaces.mcp.deps import Services


def register(server: MCPServer, services: Services) -> None:
    """Add the prompts to ``server``."""
