"""Parameter sweeps: one parametric circuit over many bindings, in one batched run."""

from __future__ import annotations

from fastapi import APIRouter

from dunes.interfaces.api.deps import GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.services import sweep as sweep_service
from dunes.services.requests import SweepRequest
from dunes.services.sweep import SweepResult

router = APIRouter(prefix="/v1/sweep", tags=["simulate"], responses=PROBLEM_RESPONSES)


@router.post("", summary="Simulate a parametric circuit for every binding at once")
async def sweep(gateway: GatewayDep, request: SweepRequest) -> SweepResult:
    values = sweep_service.request_bindings(
        grid=request.grid, bindings=request.bindings, limit=sweep_service.MAX_REQUEST_BINDINGS
    )
    return await gateway.run(
        sweep_service.run_sweep,
        settings=gateway.settings,
        circuit=request.circuit,
        bindings=values,
        observables=request.observables,
        probabilities=request.probabilities,
        shots=request.shots,
        seed=request.seed,
    )
