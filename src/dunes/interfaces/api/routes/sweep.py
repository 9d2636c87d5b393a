"""Parameter sweeps: one parametric circuit over many bindings, in one batched run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from dunes.interfaces.api.deps import ClientDep, GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.services import sweep as sweep_service
from dunes.services.sweep import SweepResult

router = APIRouter(prefix="/v1/sweep", tags=["simulate"], responses=PROBLEM_RESPONSES)


class SweepRequest(BaseModel):
    """A circuit with named parameters and their values (explicit, or a grid)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "circuit": "ry(theta, 0); cx(0, 1)",
                    "grid": ["theta=0:2*pi:21"],
                    "observables": ["ZZ", "Z0"],
                }
            ]
        },
    )

    circuit: str | list[dict[str, Any]] = Field(
        description="Seed notation ('ry(theta, 0)'), OpenQASM 3 with inputs, or JSON gates."
    )
    bindings: dict[str, list[float]] | None = Field(
        None, description="Parameter -> values, one value per binding (all of one length)."
    )
    grid: list[str] | None = Field(
        None, max_length=8, description="'name=START:STOP:COUNT' or 'name=v1,v2'; a grid."
    )
    observables: list[str] = Field(default_factory=list, max_length=64)
    probabilities: bool = False
    shots: int = Field(0, ge=0)
    seed: int | None = Field(None, ge=0, le=2**63 - 1)


@router.post("", summary="Simulate a parametric circuit for every binding at once")
async def sweep(gateway: GatewayDep, _client: ClientDep, request: SweepRequest) -> SweepResult:
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
