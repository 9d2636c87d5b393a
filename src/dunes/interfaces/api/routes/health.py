"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Security
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from dunes.interfaces.api.deps import BEARER, GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.services.health import Readiness, readiness

router = APIRouter(tags=["health"], responses=PROBLEM_RESPONSES)


class Health(BaseModel):
    """The process is up."""

    status: Literal["ok"] = "ok"


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    summary="Readiness: the store, and what the executor needs (broker, workers)",
    responses={503: {"model": Readiness, "description": "A dependency is not reachable"}},
)
async def readyz(gateway: GatewayDep) -> Readiness:
    ready = await run_in_threadpool(readiness, services=gateway.services)
    if not ready.ready:
        return JSONResponse(ready.model_dump(mode="json"), status_code=503)  # type: ignore[return-value]
    return ready


@router.get(
    "/metrics",
    summary="Prometheus metrics (names prefixed dunes_)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
    dependencies=[Security(BEARER)],
)
async def metrics(gateway: GatewayDep) -> Response:
    body = await run_in_threadpool(gateway.metrics.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
