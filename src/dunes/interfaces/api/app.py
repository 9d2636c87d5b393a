"""The FastAPI application factory of the REST gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from dunes.config import Settings, get_settings
from dunes.interfaces.api import problems
from dunes.interfaces.api.deps import Gateway
from dunes.interfaces.api.limits import BodySizeLimit
from dunes.interfaces.api.metrics import MetricsMiddleware
from dunes.interfaces.api.routes import (
    agents,
    artifacts,
    gpus,
    graph,
    health,
    jobs,
    maml,
    orchestrate,
    simulate,
)
from dunes.orchestration import Orchestrator

DESCRIPTION = """\
Quantum-circuit simulation (Qiskit Aer) and transformer agents on GPUs or the CPU.

Errors are RFC 9457 problem details (`application/problem+json`) naming the field that was
wrong. Off loopback every `/v1` route and `/metrics` need `Authorization: Bearer <API key>`.
"""


def create_app(
    settings: Settings | None = None,
    orchestrator: Orchestrator | None = None,
    *,
    require_api_keys: bool = False,
) -> FastAPI:
    """Build the gateway.

    ``require_api_keys`` is the one switch for authentication: ``dunes serve`` sets it whenever
    it binds to a non-loopback address. An ``orchestrator`` passed in is used as is and not
    closed; otherwise one is built from ``settings`` on first use and closed at shutdown.

    Raises:
        ConfigError: keys are required but none is configured.
    """
    settings = settings or get_settings()
    gateway = Gateway(settings, require_api_keys=require_api_keys, orchestrator=orchestrator)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await run_in_threadpool(gateway.close)

    app = FastAPI(
        title="dunes",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    gateway.metrics.watch_jobs(gateway.count_jobs)
    problems.install(app)
    for module in (health, orchestrate, jobs, simulate, agents, graph, maml, gpus, artifacts):
        app.include_router(module.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=gateway.metrics)
    return app


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("dunes-mcp")
    except metadata.PackageNotFoundError:
        return "0"
