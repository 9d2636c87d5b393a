"""Thin entry points (CLI, REST, MCP) over the service layer."""
