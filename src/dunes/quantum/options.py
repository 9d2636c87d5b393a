"""Simulation options and the plan that turns them into real Aer options.

``plan_simulation`` is pure: given a circuit, options, a device inventory and what the Aer build
can do, it decides method, device, fusion and the multi-GPU options, and says why. It is tested
against fake inventories because most machines have no GPU.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dunes.devices import Device, Inventory
from dunes.errors import DeviceError, InsufficientMemoryError
from dunes.quantum.backend import AerInfo
from dunes.quantum.circuit import CircuitSpec
from dunes.quantum.gates import GATES
from dunes.quantum.memory import (
    Method,
    Precision,
    bytes_per_amplitude,
    check_fits,
    format_bytes,
    state_bytes,
)

MethodChoice = Literal[
    "auto", "statevector", "density_matrix", "stabilizer", "matrix_product_state"
]
DeviceChoice = Literal["auto", "cpu", "gpu"]
GPU_METHODS = ("statevector", "density_matrix")
#: Aer applies fusion only from this width on (its ``fusion_threshold`` default).
FUSION_THRESHOLD = 14
#: Aer's ``batched_shots_gpu_max_qubits`` default.
BATCHED_SHOTS_MAX_QUBITS = 16
AerValue = bool | int | float | str | list[int]


class SimulationOptions(BaseModel):
    """What the caller asks of a simulation; ``auto`` lets dunes decide per circuit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shots: int = Field(0, ge=0, description="0: no sampling, only the state.")
    method: MethodChoice = "auto"
    device: DeviceChoice = "auto"
    precision: Precision = "double"
    seed: int | None = Field(None, ge=0, description="Seed for reproducible sampling.")
    statevector: bool | None = Field(
        None, description="Return the final state; default: when shots == 0."
    )
    observables: tuple[str, ...] = Field(
        (), description="Pauli strings: 'ZZII' (qubit 0 rightmost) or 'Z0 Z3'."
    )
    fusion: Literal["auto", "on", "off"] = "auto"
    target_gpus: tuple[int, ...] | None = Field(
        None, description="Visible GPU indices to use; default: all."
    )

    @property
    def wants_statevector(self) -> bool:
        return self.shots == 0 if self.statevector is None else self.statevector


class AerPlan(BaseModel):
    """How one circuit will run: Aer device, method, options, the dunes devices, and why."""

    model_config = ConfigDict(frozen=True)

    aer_device: Literal["CPU", "GPU"]
    method: Method
    devices: tuple[str, ...]
    required_bytes: int
    fusion: bool
    options: dict[str, AerValue]
    reasons: tuple[str, ...]


def choose_method(
    spec: CircuitSpec, options: SimulationOptions, aer: AerInfo
) -> tuple[Method, str]:
    """Pick the simulation method for this circuit and say why."""
    if options.method != "auto":
        if options.method not in aer.methods:
            raise DeviceError(
                f"method {options.method!r} is not available in {aer.distribution}; "
                f"available: {', '.join(aer.methods)}",
                field="method",
            )
        return options.method, f"method {options.method} as requested"
    if spec.is_clifford and not options.wants_statevector:
        return "stabilizer", "Clifford circuit without statevector: stabilizer method"
    return "statevector", "statevector method"


def choose_fusion(
    spec: CircuitSpec, options: SimulationOptions, method: Method
) -> tuple[bool, str]:
    """Decide gate fusion per circuit instead of taking Aer's default blindly.

    Fusion merges gates into dense blocks of up to five qubits. That pays when consecutive dense
    single-qubit gates can be merged; it costs when the circuit is made of cheap permutation or
    diagonal gates (cx chains, controlled phases), which Aer applies without a dense multiply.
    """
    if method not in GPU_METHODS:
        return False, "no fusion for this method"
    if options.fusion != "auto":
        return options.fusion == "on", f"fusion {options.fusion} as requested"
    if spec.num_qubits < FUSION_THRESHOLD:
        return False, f"fusion off below {FUSION_THRESHOLD} qubits (nothing to gain)"
    gates = [op for op in spec.operations if op.name in GATES]
    dense = [op for op in gates if not GATES[op.name].permutation_or_diagonal]
    merged = _passes_after_single_qubit_merge(spec)
    dense_share = len(dense) / max(len(gates), 1)
    merge_ratio = merged / max(len(gates), 1)
    if dense_share < 0.2:
        return False, f"fusion off: {dense_share:.0%} dense gates, mostly permutation/diagonal"
    if merge_ratio > 0.85 and dense_share < 0.5:
        return False, f"fusion off: few mergeable gates ({merge_ratio:.0%} of passes remain)"
    return True, f"fusion on: {dense_share:.0%} dense gates, {merge_ratio:.0%} passes after merging"


def _passes_after_single_qubit_merge(spec: CircuitSpec) -> int:
    """Passes over the state if runs of 1-qubit gates on the same qubit were merged."""
    open_run: set[int] = set()
    passes = 0
    for op in spec.operations:
        if op.name not in GATES:
            open_run.difference_update(op.qubits)
            continue
        if len(op.qubits) == 1:
            if op.qubits[0] not in open_run:
                open_run.add(op.qubits[0])
                passes += 1
        else:
            open_run.difference_update(op.qubits)
            passes += 1
    return passes


def _needs_per_shot_simulation(spec: CircuitSpec) -> bool:
    return spec.has_midcircuit_measurement


def plan_simulation(
    spec: CircuitSpec,
    options: SimulationOptions,
    *,
    inventory: Inventory,
    aer: AerInfo,
    cpu_fraction: float = 0.8,
    gpu_fraction: float = 0.9,
) -> AerPlan:
    """Decide everything Aer needs for ``spec``.

    Raises:
        DeviceError: a GPU was requested and none is usable, or a method is unavailable.
        InsufficientMemoryError: the state fits neither the GPUs nor the host.
    """
    method, method_reason = choose_method(spec, options, aer)
    reasons = [method_reason]
    gpus = _target_gpus(options, inventory)
    use_gpu = False
    if options.device == "gpu":
        if not aer.gpu_usable:
            raise DeviceError(
                f"GPU requested but the active Aer build ({aer.distribution} {aer.version}) "
                f"offers {', '.join(aer.devices)}; install qiskit-aer-gpu in place of qiskit-aer",
                field="device",
            )
        if not gpus:
            raise DeviceError("GPU requested but no GPU is visible to this process", field="device")
        if method not in GPU_METHODS:
            raise DeviceError(
                f"method {method} runs on the CPU only; use statevector or density_matrix on GPU",
                field="method",
            )
        use_gpu = True
    elif options.device == "auto" and aer.gpu_usable and gpus and method in GPU_METHODS:
        use_gpu = True
    elif options.device == "auto":
        why = (
            "no GPU visible"
            if not gpus
            else f"Aer build {aer.distribution} has no GPU support"
            if not aer.gpu_usable
            else f"{method} runs on the CPU"
        )
        reasons.append(f"CPU: {why}")

    needed = state_bytes(spec.num_qubits, method=method, precision=options.precision)
    fusion, fusion_reason = choose_fusion(spec, options, method)
    reasons.append(fusion_reason)
    aer_options: dict[str, AerValue] = {
        "method": method,
        "precision": options.precision,
        "fusion_enable": fusion,
    }
    if options.seed is not None:
        aer_options["seed_simulator"] = options.seed

    if use_gpu:
        gpu_plan = _gpu_options(spec, options, method, gpus, needed, gpu_fraction)
        if gpu_plan is not None:
            gpu_options, used, gpu_reasons = gpu_plan
            aer_options.update(gpu_options)
            return AerPlan(
                aer_device="GPU",
                method=method,
                devices=tuple(d.id for d in used),
                required_bytes=needed,
                fusion=fusion,
                options=aer_options,
                reasons=(*reasons, *gpu_reasons),
            )
        total = sum(d.memory_free for d in gpus)
        if options.device == "gpu":
            raise InsufficientMemoryError(
                f"a {spec.num_qubits}-qubit {method} state needs {format_bytes(needed)} but the "
                f"{len(gpus)} GPU(s) have {format_bytes(total * gpu_fraction)} usable together",
                field="circuit",
            )
        reasons.append(f"CPU: state ({format_bytes(needed)}) does not fit the GPUs")
    check_fits(
        spec.num_qubits,
        inventory.cpu,
        method=method,
        precision=options.precision,
        fraction=cpu_fraction,
    )
    aer_options["device"] = "CPU"
    return AerPlan(
        aer_device="CPU",
        method=method,
        devices=("cpu",),
        required_bytes=needed,
        fusion=fusion,
        options=aer_options,
        reasons=tuple(reasons),
    )


def _target_gpus(options: SimulationOptions, inventory: Inventory) -> list[Device]:
    gpus = list(inventory.gpus)
    if options.target_gpus is None:
        return gpus
    by_index = {d.index: d for d in gpus}
    missing = [i for i in options.target_gpus if i not in by_index]
    if missing:
        have = ", ".join(str(i) for i in by_index) or "none"
        raise DeviceError(
            f"target_gpus {missing} not visible; visible GPU indices: {have}", field="target_gpus"
        )
    return [by_index[i] for i in options.target_gpus]


def _gpu_options(
    spec: CircuitSpec,
    options: SimulationOptions,
    method: Method,
    gpus: list[Device],
    needed: int,
    fraction: float,
) -> tuple[dict[str, AerValue], list[Device], list[str]] | None:
    """GPU options for one circuit, or None when the state fits no GPU combination."""
    result: dict[str, AerValue] = {"device": "GPU", "cuStateVec_enable": True}
    reasons: list[str] = []
    best = max(gpus, key=lambda d: d.memory_free)
    if needed <= best.memory_free * fraction:
        used = [best]
        result["target_gpus"] = [best.index or 0]
        reasons.append(f"GPU {best.id}: state {format_bytes(needed)} fits one GPU")
    elif needed <= sum(d.memory_free for d in gpus) * fraction and len(gpus) > 1:
        smallest = min(d.memory_free for d in gpus)
        # Aer: a chunk (bytes_per_amp * 2^blocking_qubits) should stay under 1/4 of a GPU's memory.
        per_amp = bytes_per_amplitude(options.precision)
        if method == "density_matrix":
            per_amp *= 2**spec.num_qubits  # chunks of a density matrix are rows of columns
        chunk_qubits = math.floor(math.log2(max(smallest * fraction / 4 / per_amp, 1)))
        chunk_qubits = min(chunk_qubits, spec.num_qubits - 1)
        if chunk_qubits < 1:
            return None
        used = gpus
        result.update(
            target_gpus=[d.index or 0 for d in gpus],
            blocking_enable=True,
            blocking_qubits=chunk_qubits,
        )
        reasons.append(
            f"GPUs {', '.join(d.id for d in gpus)}: state {format_bytes(needed)} exceeds one GPU; "
            f"blocking over {len(gpus)} GPUs with {chunk_qubits}-qubit chunks "
            f"(smallest GPU has {format_bytes(smallest)} free)"
        )
    else:
        return None
    if (
        options.shots > 1
        and _needs_per_shot_simulation(spec)
        and spec.num_qubits <= BATCHED_SHOTS_MAX_QUBITS
        and method == "statevector"
    ):
        result["batched_shots_gpu"] = True
        reasons.append("batched_shots_gpu: per-shot simulation of a small circuit")
    return result, used, reasons
