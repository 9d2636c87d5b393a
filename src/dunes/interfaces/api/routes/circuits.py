"""Circuits and workers for editors and dashboards: check a circuit as it is typed, draw it,
and see the workers."""

from __future__ import annotations

from fastapi import APIRouter, Response

from dunes.interfaces.api.deps import GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.services import health as health_service
from dunes.services.requests import CircuitIn
from dunes.services.simulation import CircuitCheck, check_circuit, circuit_drawing_png

router = APIRouter(prefix="/v1", tags=["simulate"], responses=PROBLEM_RESPONSES)


@router.post("/circuits/check", summary="Whether a circuit reads, or where it does not")
async def check(body: CircuitIn, gateway: GatewayDep) -> CircuitCheck:
    return await gateway.run(check_circuit, text=body.circuit)


@router.post(
    "/circuits/drawing.png",
    summary="The circuit drawn as a PNG",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "A PNG image"}},
)
async def drawing(body: CircuitIn, gateway: GatewayDep) -> Response:
    return Response(await gateway.run(circuit_drawing_png, body.circuit), media_type="image/png")


@router.get("/workers", summary="Workers with their queue, device, cores and heartbeat")
async def workers(gateway: GatewayDep) -> health_service.WorkerList:
    return await gateway.run(health_service.workers, services=gateway.services)
