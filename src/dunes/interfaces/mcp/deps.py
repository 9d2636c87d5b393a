"""What the MCP tools call: settings and the services, built lazily once per server."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import anyio.to_thread
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError

from dunes.config import Settings
from dunes.errors import DunesError, JobNotFoundError, MamlError, NodeNotFoundError

if TYPE_CHECKING:
    from dunes.agents import AgentRuntime
    from dunes.beluga import GraphStore
    from dunes.orchestration import Orchestrator

P = ParamSpec("P")
T = TypeVar("T")


class Services:
    """Settings plus the orchestrator, created on first use and closed with the server."""

    def __init__(self, settings: Settings, orchestrator: Orchestrator | None = None) -> None:
        self.settings = settings
        self._orchestrator = orchestrator
        self._owns_orchestrator = orchestrator is None
        self._agents: AgentRuntime | None = None
        self._lock = threading.Lock()

    @property
    def orchestrator(self) -> Orchestrator:
        """The orchestrator given to the factory, or one built from the settings."""
        with self._lock:
            if self._orchestrator is None:
                from dunes.orchestration import Orchestrator

                self._orchestrator = Orchestrator(self.settings)
            return self._orchestrator

    @property
    def store(self) -> GraphStore:
        """The BELUGA store the orchestrator records into."""
        return self.orchestrator.store

    @property
    def agents(self) -> AgentRuntime:
        """The agent runtime of this process (models load on first use, then stay resident)."""
        with self._lock:
            if self._agents is None:
                from dunes.agents import AgentRuntime

                self._agents = AgentRuntime(self.settings)
            return self._agents

    def close(self) -> None:
        """Close what this object created (never an orchestrator it was given)."""
        with self._lock:
            if self._orchestrator is not None and self._owns_orchestrator:
                self._orchestrator.close()
                self._orchestrator = None


async def run_tool(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run blocking service code in a worker thread; a DunesError becomes a tool error."""
    try:
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
    except DunesError as exc:
        raise ToolError(str(exc)) from exc


async def run_resource(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run blocking service code for a resource; a DunesError becomes a resource error."""
    try:
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
    except (JobNotFoundError, NodeNotFoundError) as exc:
        raise ResourceNotFoundError(str(exc)) from exc
    except MamlError as exc:
        if exc.field == "name":  # no shipped example of that name
            raise ResourceNotFoundError(str(exc)) from exc
        raise ResourceError(str(exc)) from exc
    except DunesError as exc:
        raise ResourceError(str(exc)) from exc
