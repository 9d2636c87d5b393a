"""Synchronous simulation of small circuits."""

from __future__ import annotations

from fastapi import APIRouter

from dunes.interfaces.api.deps import GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.quantum import SimulationResult
from dunes.services.requests import SimulateRequest
from dunes.services.simulation import simulate_request

router = APIRouter(prefix="/v1/simulate", tags=["simulate"], responses=PROBLEM_RESPONSES)


@router.post(
    "",
    summary="Simulate one small circuit and wait for the result",
    response_description="The simulation result; complex amplitudes as [re, im] pairs.",
)
async def simulate(gateway: GatewayDep, request: SimulateRequest) -> SimulationResult:
    run = await gateway.run(
        simulate_request, settings=gateway.settings, request=request, origin="network"
    )
    gateway.metrics.simulations.labels(device=run.result.device).inc()
    return run.result
