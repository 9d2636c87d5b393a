"""Synchronous simulation of small circuits."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from dunes.constants import MethodName, Precision
from dunes.interfaces.api.deps import ClientDep, GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.quantum import SimulationResult
from dunes.quantum.parse import CircuitFormat
from dunes.services.simulation import simulate_circuit, simulation_options

router = APIRouter(prefix="/v1/simulate", tags=["simulate"], responses=PROBLEM_RESPONSES)

#: Largest seed Aer accepts (a signed 64-bit integer).
MAX_SEED = 2**63 - 1


class SimulateRequest(BaseModel):
    """A circuit and how to simulate it; limits come from the server's settings."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"circuit": "h(0); cx(0,1); cx(1,2)", "shots": 0},
                {"circuit": "h(0); cx(0,1); measure", "shots": 1000, "seed": 7},
            ]
        },
    )

    circuit: str | list[dict[str, Any]] = Field(
        description="Seed notation ('h(0); cx(0,1)'), OpenQASM 2/3, or a JSON gate list.",
        examples=["h(0); cx(0,1); cx(1,2)"],
    )
    shots: int | None = Field(
        None,
        ge=0,
        description="Samples to draw; 0: the state only (default: quantum.default_shots).",
    )
    num_qubits: int | None = Field(None, ge=1, description="Default: inferred from the circuit.")
    format: CircuitFormat = "auto"
    method: MethodName = "auto"
    device: str | None = Field(
        None,
        max_length=32,
        description="auto, cpu, gpu or cuda:N (default: quantum.default_device).",
        examples=["auto"],
    )
    precision: Precision = "double"
    seed: int | None = Field(None, ge=0, le=MAX_SEED)
    statevector: bool | None = Field(None, description="Return the state; default: when shots=0.")
    observables: list[str] = Field(
        default_factory=list, description="Pauli strings: 'ZZII' (qubit 0 rightmost) or 'Z0 Z3'."
    )


@router.post(
    "",
    summary="Simulate one small circuit and wait for the result",
    response_description="The simulation result; complex amplitudes as [re, im] pairs.",
)
async def simulate(
    gateway: GatewayDep,
    _client: ClientDep,
    request: SimulateRequest = Body(
        openapi_examples={
            "ghz": {
                "summary": "3-qubit GHZ statevector",
                "value": {"circuit": "h(0); cx(0,1); cx(1,2)"},
            },
            "counts": {
                "summary": "Bell pair, 1000 shots",
                "value": {"circuit": "h(0); cx(0,1); measure", "shots": 1000, "seed": 7},
            },
        }
    ),
) -> SimulationResult:
    def run() -> SimulationResult:
        options = simulation_options(
            settings=gateway.settings,
            **request.model_dump(
                include={"shots", "method", "device", "precision", "seed", "statevector"}
            ),
            observables=request.observables,
        )
        return simulate_circuit(
            settings=gateway.settings,
            circuit=request.circuit,  # type: ignore[arg-type]
            options=options,
            num_qubits=request.num_qubits,
            fmt=request.format,
            origin="network",
        ).result

    result = await gateway.run(run)
    gateway.metrics.simulations.labels(device=result.device).inc()
    return result
