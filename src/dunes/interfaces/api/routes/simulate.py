"""Synchronous simulation of small circuits."""

from __future__ import annotations

from fastapi import APIRouter, Body

from dunes.interfaces.api.deps import ClientDep, GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.quantum import SimulationResult
from dunes.services.requests import SimulateRequest
from dunes.services.simulation import simulate_circuit, simulation_options

router = APIRouter(prefix="/v1/simulate", tags=["simulate"], responses=PROBLEM_RESPONSES)


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
