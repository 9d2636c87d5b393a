"""What routes depend on: the per-app ``Gateway`` (settings, keys, limits, metrics, services)
and ``Annotated`` aliases for them."""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from dunes.beluga import JOB_STATUSES, GraphStore
from dunes.config import Settings
from dunes.interfaces.api.limits import RateLimiter
from dunes.interfaces.api.metrics import Metrics
from dunes.interfaces.api.security import ApiKeyRing
from dunes.orchestration import Orchestrator

if TYPE_CHECKING:
    from dunes.agents import AgentRuntime

P = ParamSpec("P")
T = TypeVar("T")

_compute: ThreadPoolExecutor | None = None
_compute_lock = threading.Lock()


def compute_pool() -> ThreadPoolExecutor:
    """The process-wide threads for simulations and model inference.

    They live as long as the process: with torch loaded, Qiskit crashes (SIGSEGV) in a new thread
    once another thread that ran it has exited, which is what recycling thread pools do.
    """
    global _compute
    with _compute_lock:
        if _compute is None:
            _compute = ThreadPoolExecutor(
                max_workers=max(4, os.cpu_count() or 1), thread_name_prefix="dunes-compute"
            )
        return _compute


class Gateway:
    """Resources of one app instance; services are created on first use and closed at shutdown."""

    def __init__(
        self,
        settings: Settings,
        *,
        require_api_keys: bool,
        orchestrator: Orchestrator | None = None,
    ) -> None:
        self.settings = settings
        self.keys = ApiKeyRing(settings.api.api_keys, required=require_api_keys)
        self.limiter = RateLimiter(settings.api.rate_limit_per_minute)
        self.metrics = Metrics()
        self._orchestrator = orchestrator
        self._agents: AgentRuntime | None = None
        self._owned: list[Any] = []
        self._lock = threading.Lock()

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` on the gateway's compute threads and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(compute_pool(), functools.partial(fn, *args, **kwargs))

    def orchestrator(self) -> Orchestrator:
        """The orchestrator given to the app, or one built from the settings (once)."""
        with self._lock:
            if self._orchestrator is None:
                self._orchestrator = Orchestrator(self.settings)
                self._owned.append(self._orchestrator)
            return self._orchestrator

    def store(self) -> GraphStore:
        """The BELUGA store (the orchestrator's)."""
        return self.orchestrator().store

    def agents(self) -> AgentRuntime:
        """The agent runtime of this process (models load on first use, then stay resident)."""
        with self._lock:
            if self._agents is None:
                from dunes.agents import AgentRuntime

                self._agents = AgentRuntime(self.settings)
            return self._agents

    def count_jobs(self) -> dict[str, int]:
        """Jobs by state, every state present (for /metrics)."""
        counts = dict.fromkeys(JOB_STATUSES, 0)
        counts.update(self.orchestrator().store.stats()["job_statuses"])
        return counts

    @property
    def has_orchestrator(self) -> bool:
        return self._orchestrator is not None

    def close(self) -> None:
        """Close what this gateway created (not what it was given)."""
        with self._lock:
            owned, self._owned = self._owned, []
        for resource in reversed(owned):
            resource.close()


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def get_settings(gateway: GatewayDep) -> Settings:
    return gateway.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]

_bearer = HTTPBearer(
    auto_error=False,
    description="API key as a bearer token; required when the server is not on loopback.",
)


def authorize(
    request: Request,
    gateway: GatewayDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """Check the API key (when required) and the rate limit; return the caller's identity.

    Raises:
        AuthenticationError: a key is required and missing or wrong (401).
        RateLimitedError: the caller is over ``api.rate_limit_per_minute`` (429).
    """
    header = f"Bearer {credentials.credentials}" if credentials else None
    key_id = gateway.keys.identify(header)
    identity = (
        f"key:{key_id}" if key_id else f"client:{request.client.host if request.client else '-'}"
    )
    gateway.limiter.check(identity)
    return identity


ClientDep = Annotated[str, Depends(authorize)]


async def get_orchestrator(gateway: GatewayDep) -> Orchestrator:
    if gateway.has_orchestrator:
        return gateway.orchestrator()
    return await run_in_threadpool(gateway.orchestrator)


OrchestratorDep = Annotated[Orchestrator, Depends(get_orchestrator)]
