"""The one API the CLI, the REST gateway and the MCP server call.

Verbs take keyword arguments and a ``Services`` (settings, orchestrator, store, agents), decide
their defaults once, and return the public models of ``dunes.services.public``.
"""

from __future__ import annotations

from dunes.services.context import Services

__all__ = ["Services"]
