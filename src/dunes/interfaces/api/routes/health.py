"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from dunes.interfaces.api.deps import GatewayDep, authorize
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.interfaces.api.readiness import readiness_checks

router = APIRouter(tags=["health"], responses=PROBLEM_RESPONSES)


class Health(BaseModel):
    """The process is up."""

    status: Literal["ok"] = "ok"


class Check(BaseModel):
    """One dependency's reachability."""

    name: str = Field(examples=["store"])
    ok: bool
    detail: str = Field(examples=["sqlite reachable"])


class Readiness(BaseModel):
    """Whether the gateway can serve jobs: store, broker and workers, per the executor."""

    status: Literal["ready", "not ready"]
    executor: str = Field(examples=["local"])
    checks: list[Check]


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    summary="Readiness: store, broker and workers reachable",
    responses={503: {"model": Readiness, "description": "A dependency is not reachable"}},
)
async def readyz(gateway: GatewayDep) -> Readiness:
    executor, checks = await run_in_threadpool(readiness_checks, gateway)
    ready = Readiness(
        status="ready" if all(ok for _, ok, _ in checks) else "not ready",
        executor=executor,
        checks=[Check(name=name, ok=ok, detail=detail) for name, ok, detail in checks],
    )
    if ready.status != "ready":
        return JSONResponse(ready.model_dump(), status_code=503)  # type: ignore[return-value]
    return ready


@router.get(
    "/metrics",
    summary="Prometheus metrics (names prefixed dunes_)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
    dependencies=[Depends(authorize)],
)
async def metrics(gateway: GatewayDep) -> Response:
    body = await run_in_threadpool(gateway.metrics.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
