"""``Services``: what every interface holds, built on first use and closed once.

The REST gateway, the MCP server and the CLI each keep one; the verbs of ``dunes.services`` take
it and reach the orchestrator, the store and the agents through it, so no interface builds them.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from dunes.config import Settings, get_settings

if TYPE_CHECKING:
    from dunes.agents import AgentRuntime
    from dunes.beluga import GraphStore
    from dunes.orchestration import Orchestrator


class Services:
    """Settings, and the orchestrator and agent runtime of this process, created lazily.

    What is given is shared, never closed here; what is built here is closed by ``close``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        orchestrator: Orchestrator | None = None,
        agents: AgentRuntime | None = None,
        executor: str | None = None,
    ) -> None:
        from dunes.quantum import ensure_native_allocator

        ensure_native_allocator()  # interfaces run qiskit in worker threads
        self.settings = settings or get_settings()
        self._orchestrator = orchestrator
        self._agents = agents
        self._executor = executor
        self._owned: list[Any] = []
        self._lock = threading.Lock()

    @property
    def orchestrator(self) -> Orchestrator:
        with self._lock:
            if self._orchestrator is None:
                from dunes.orchestration import Orchestrator

                self._orchestrator = Orchestrator(self.settings, executor=self._executor)
                self._owned.append(self._orchestrator)
            return self._orchestrator

    @property
    def executor_kind(self) -> str:
        """The executor this process uses (``local`` or ``celery``)."""
        return self._executor or self.settings.executor.kind

    @property
    def has_orchestrator(self) -> bool:
        return self._orchestrator is not None

    @property
    def store(self) -> GraphStore:
        """The BELUGA store (the orchestrator's: one store per process)."""
        return self.orchestrator.store

    @property
    def agents(self) -> AgentRuntime:
        """The agent runtime: models load on first use, then stay resident."""
        with self._lock:
            if self._agents is None:
                from dunes.agents import AgentRuntime

                self._agents = AgentRuntime(self.settings)
            return self._agents

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close what was built here (not what was given)."""
        with self._lock:
            owned, self._owned = self._owned, []
            for resource in owned:
                if resource is self._orchestrator:
                    self._orchestrator = None
        for resource in reversed(owned):
            resource.close()
