"""The Model Context Protocol server: tools, resources and prompts over stdio or HTTP."""

from __future__ import annotations

from dunes.interfaces.mcp.server import DunesServer, create_server

__all__ = ["DunesServer", "create_server"]
