"""The FastAPI application factory of the REST gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Security
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from dunes.config import Settings, get_settings
from dunes.interfaces.api import problems
from dunes.interfaces.api.deps import BEARER, Gateway
from dunes.interfaces.api.metrics import MetricsMiddleware
from dunes.interfaces.api.routes import (
    agents,
    artifacts,
    circuits,
    dashboard,
    gpus,
    graph,
    health,
    jobs,
    maml,
    orchestrate,
    simulate,
    sweep,
)
from dunes.orchestration import Orchestrator
from dunes.services import Services
from dunes.services.access import AccessPolicy
from dunes.services.guard import AccessGuard
from dunes.services.jobs import job_counts

DESCRIPTION = """\
Quantum-circuit simulation (Qiskit Aer) and transformer agents on GPUs or the CPU.

Errors are RFC 9457 problem details (`application/problem+json`) naming the field that was
wrong. Off loopback every `/v1` route and `/metrics` need `Authorization: Bearer <API key>`.
"""

#: What needs no API key: probes, the dashboard's page (its files are under /ui/), the API docs.
OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)


def create_app(
    settings: Settings | None = None,
    orchestrator: Orchestrator | None = None,
    *,
    host: str = "127.0.0.1",
    require_api_keys: bool = False,
) -> FastAPI:
    """Build the gateway for a server bound to ``host``.

    Access follows ``dunes.services.access`` and is checked by ``dunes.services.guard``: keys
    off loopback (or with ``require_api_keys``), the Host and Origin checks always (CORS answers
    preflights before them). An ``orchestrator`` passed in is used as is and not closed;
    otherwise one is built from ``settings`` on first use and closed at shutdown.

    Raises:
        ConfigError: keys are required but none is configured.
    """
    settings = settings or get_settings()
    services = Services(settings, orchestrator=orchestrator)
    access = AccessPolicy(settings.api, host=host, require_keys=require_api_keys)
    gateway = Gateway(settings, services=services)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await run_in_threadpool(services.close)

    app = FastAPI(
        title="dunes",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    gateway.metrics.watch_jobs(lambda: job_counts(services=services))
    problems.install(app)
    app.mount("/ui", dashboard.static_files(), name="ui")
    app.include_router(health.router)
    app.include_router(dashboard.router)
    for module in (
        orchestrate,
        jobs,
        simulate,
        sweep,
        circuits,
        agents,
        graph,
        maml,
        gpus,
        artifacts,
    ):
        app.include_router(module.router, dependencies=[Security(BEARER)])
    app.add_middleware(
        AccessGuard,
        api=settings.api,
        policy=access,
        refuse=problems.dunes_error_response,
        open_paths=OPEN_PATHS,
        open_prefixes=("/ui/",),
    )
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        )
    app.add_middleware(MetricsMiddleware, metrics=gateway.metrics)
    return app


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("dunes-mcp")
    except metadata.PackageNotFoundError:
        return "0"
