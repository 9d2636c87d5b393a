"""Structured outputs of the MCP tools (their JSON schemas are the tools' output schemas)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from dunes.devices import Inventory
from dunes.quantum.backend import AerInfo
from dunes.quantum.result import SimulationResult, top_amplitudes

#: Amplitudes with a smaller probability are left out of the output.
NEGLIGIBLE = 1e-12


class AmplitudeOut(BaseModel):
    """One basis state; ``bitstring`` puts qubit 0 rightmost, as Qiskit does."""

    bitstring: str
    real: float
    imag: float
    probability: float


class SimulationOut(BaseModel):
    """What ``simulate_circuit`` returns: outcomes, the largest amplitudes, and how it ran."""

    num_qubits: int
    circuit: str = Field(description="The circuit in seed notation.")
    circuit_sha256: str
    device: str = Field(description="'cpu' or 'cuda:N'.")
    method: str
    backend: str
    shots: int
    seed: int | None = None
    counts: dict[str, int] | None = Field(None, description="Outcome -> count when sampled.")
    probabilities: dict[str, float] | None = Field(
        None, description="The most likely outcomes (up to `top`), when the state was computed."
    )
    top_amplitudes: list[AmplitudeOut] = Field(
        default_factory=list, description="The largest non-zero amplitudes, largest first."
    )
    expectation_values: dict[str, float] | None = None
    entropy_bits: float | None = Field(None, description="Shannon entropy of the outcomes.")
    reasons: list[str] = Field(default_factory=list, description="Why dunes ran it this way.")
    elapsed_s: float = Field(description="Aer time in seconds.")

    @classmethod
    def from_result(cls, result: SimulationResult, *, top: int) -> SimulationOut:
        state = result.state if result.statevector is not None or result.artifact else None
        if state is not None:
            amplitudes = top_amplitudes(state, result.num_qubits, top)
        else:
            amplitudes = list(result.top_amplitudes or [])[:top]
        amplitudes = [a for a in amplitudes if a.probability > NEGLIGIBLE]
        probabilities = None
        if result.probabilities:
            ranked = sorted(result.probabilities.items(), key=lambda kv: (-kv[1], kv[0]))
            probabilities = dict(ranked[:top])
        return cls(
            num_qubits=result.num_qubits,
            circuit=result.circuit,
            circuit_sha256=result.circuit_sha256,
            device=result.device,
            method=result.method,
            backend=result.backend,
            shots=result.shots,
            seed=result.seed,
            counts=result.counts,
            probabilities=probabilities,
            top_amplitudes=[
                AmplitudeOut(
                    bitstring=a.bitstring,
                    real=a.amplitude[0],
                    imag=a.amplitude[1],
                    probability=a.probability,
                )
                for a in amplitudes
            ],
            expectation_values=result.expectation_values,
            entropy_bits=result.entropy_bits(),
            reasons=list(result.reasons),
            elapsed_s=result.timings.get("aer_s", 0.0),
        )


class DeviceOut(BaseModel):
    """One device dunes can use."""

    id: str = Field(description="'cpu' or 'cuda:N' (N is the visible index).")
    kind: str
    name: str
    memory_total: int = Field(description="Bytes.")
    memory_free: int = Field(description="Bytes.")
    utilization: float | None = Field(None, description="Busy share 0..1 where known.")


class AerOut(BaseModel):
    """The active Aer build."""

    distribution: str
    version: str
    devices: list[str]
    gpu_build: bool
    gpu_usable: bool


class GpusOut(BaseModel):
    """The devices this server sees and the Aer build it simulates with."""

    source: str = Field(description="How the devices were found: nvml, torch or cpu.")
    cuda_visible_devices: str | None
    devices: list[DeviceOut]
    aer: AerOut

    @classmethod
    def build(cls, inventory: Inventory, aer: AerInfo) -> GpusOut:
        return cls(
            source=inventory.source,
            cuda_visible_devices=inventory.cuda_visible_devices,
            devices=[
                DeviceOut.model_validate(d.model_dump(include=set(DeviceOut.model_fields)))
                for d in inventory.devices
            ],
            aer=AerOut(
                distribution=aer.distribution,
                version=aer.version,
                devices=list(aer.devices),
                gpu_build=aer.gpu_build,
                gpu_usable=aer.gpu_usable and bool(inventory.gpus),
            ),
        )


def jsonable(value: Any) -> Any:
    """Plain JSON data from pydantic models, dataclasses and containers of them."""
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value, fallback=str)
