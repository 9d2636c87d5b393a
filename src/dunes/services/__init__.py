"""The one API the CLI, the REST gateway and the MCP server call.

Verbs take keyword arguments and a ``Services`` (settings, orchestrator, store, agents), decide
their defaults once, and return the public models of ``dunes.services.public``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dunes.services.context import Services

__all__ = ["Services"]


def __getattr__(name: str) -> Any:
    # Imported on use: ``dunes --help`` loads this package without the settings machinery.
    if name == "Services":
        from dunes.services.context import Services

        return Services
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
