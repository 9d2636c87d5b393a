"""Simulation options and the plan that turns them into a run.

``plan_simulation`` is pure: given a circuit, options, a device inventory and what the Aer build
can do, it decides engine, method (``dunes.quantum.methods``), device, fusion and the multi-GPU
options, and says why. It is tested against fake inventories because most machines have no GPU.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dunes.config import QuantumSettings
from dunes.constants import MethodName, Precision
from dunes.devices import Device, Inventory
from dunes.errors import DeviceError, InsufficientMemoryError
from dunes.quantum.backend import AerInfo
from dunes.quantum.circuit import CircuitSpec
from dunes.quantum.gates import GATES
from dunes.quantum.memory import (
    Method,
    bytes_per_amplitude,
    check_fits,
    format_bytes,
)
from dunes.quantum.methods import GPU_METHODS, Capacity, Engine, choose_method

DeviceChoice = Literal["auto", "cpu", "gpu"]
#: Aer applies fusion only from this width on (its ``fusion_threshold`` default).
FUSION_THRESHOLD = 14
#: Aer's ``batched_shots_gpu_max_qubits`` default.
BATCHED_SHOTS_MAX_QUBITS = 16
AerValue = bool | int | float | str | list[int]


class SimulationOptions(BaseModel):
    """What the caller asks of a simulation; ``auto`` lets dunes decide per circuit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shots: int = Field(0, ge=0, description="0: no sampling, only the state.")
    method: MethodName = "auto"
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

    @field_validator("target_gpus")
    @classmethod
    def _distinct_gpus(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None and (not value or min(value) < 0 or len(set(value)) != len(value)):
            raise ValueError("target_gpus must be distinct non-negative GPU indices, e.g. [0, 1]")
        return value

    @property
    def wants_statevector(self) -> bool:
        return self.shots == 0 if self.statevector is None else self.statevector


class SimulationPlan(BaseModel):
    """How one circuit will run: engine, device, method, options, what it reports, and why.

    ``required_bytes`` is the predicted peak of the run, not only the size of its state;
    ``statevector``, ``exact`` and ``shots`` say what the result will hold.
    """

    model_config = ConfigDict(frozen=True)

    engine: Engine = "aer"
    aer_device: Literal["CPU", "GPU"]
    method: Method
    devices: tuple[str, ...]
    required_bytes: int
    fusion: bool
    options: dict[str, AerValue]
    reasons: tuple[str, ...]
    statevector: bool = False
    exact: bool = True
    shots: int = 0
    dynamic: bool = False
    mps_max_bond: int | None = None


def plan_simulation(
    spec: CircuitSpec,
    options: SimulationOptions,
    *,
    inventory: Inventory,
    aer: AerInfo,
    limits: QuantumSettings | None = None,
    allow_branches: bool = True,
) -> SimulationPlan:
    """Decide everything a run of ``spec`` needs.

    Raises:
        DeviceError: a GPU was requested and none is usable, or a method is unavailable.
        InsufficientMemoryError: no method fits; the message gives the figures.
    """
    limits = limits or QuantumSettings()
    split = spec.split_measurements()
    gpus = _target_gpus(options, inventory)
    if options.device == "gpu":
        _check_gpu_request(aer, gpus)
    gpu_possible = options.device != "cpu" and aer.gpu_usable and bool(gpus)
    host = int(inventory.cpu.memory_free * limits.cpu_memory_fraction)
    gpu_room = _gpu_capacity(gpus, aer, limits.gpu_memory_fraction) if gpu_possible else 0
    host_room = 0 if options.device == "gpu" else host
    where = f"the {len(gpus)} GPU(s) together" if gpu_room > host_room else "the host"
    capacity = Capacity(
        host=host, state=max(host_room, gpu_room), state_where=where, gpu=gpu_room > 0
    )
    choice = choose_method(
        spec,
        split,
        shots=options.shots,
        method=options.method,
        statevector=options.statevector,
        precision=options.precision,
        on_gpu_only=options.device == "gpu",
        aer=aer,
        limits=limits,
        capacity=capacity,
        observables=bool(options.observables),
        allow_branches=allow_branches,
    )
    if options.device == "gpu" and (choice.engine != "aer" or choice.method not in GPU_METHODS):
        raise DeviceError(
            f"method {choice.method} runs on the CPU only; use statevector or density_matrix "
            "on GPU",
            field="method",
        )
    reasons = list(choice.reasons)
    needed = choice.predicted_bytes
    base: dict[str, AerValue] = {"method": choice.method, "precision": options.precision}
    if options.seed is not None:
        base["seed_simulator"] = options.seed
    if choice.mps_max_bond is not None:
        base["matrix_product_state_max_bond_dimension"] = choice.mps_max_bond
        base["mps_log_data"] = True
    common = {
        "engine": choice.engine,
        "method": choice.method,
        "required_bytes": needed,
        "statevector": choice.statevector,
        "exact": choice.exact,
        "shots": choice.shots,
        "dynamic": split.dynamic,
        "mps_max_bond": choice.mps_max_bond,
    }
    if choice.engine == "aer" and choice.method in GPU_METHODS and gpu_possible:
        gpu_plan = _gpu_options(
            spec, options, choice.method, gpus, needed, limits.gpu_memory_fraction, aer
        )
        if gpu_plan is not None:
            gpu_options, used, gpu_reasons = gpu_plan
            fusion, fusion_reason = choose_fusion(spec, options, choice.method, gpu=True)
            return SimulationPlan(
                aer_device="GPU",
                devices=tuple(d.id for d in used),
                fusion=fusion,
                options={**base, "fusion_enable": fusion, **gpu_options},
                reasons=(*reasons, *gpu_reasons, fusion_reason),
                **common,
            )
        if options.device == "gpu":
            usable = sum(d.memory_free for d in gpus) * limits.gpu_memory_fraction
            raise InsufficientMemoryError(
                f"a {spec.num_qubits}-qubit {choice.method} run needs {format_bytes(needed)} "
                f"but the {len(gpus)} GPU(s) have {format_bytes(usable)} usable together "
                f"({limits.gpu_memory_fraction:.0%} of free memory)",
                field="circuit",
            )
        reasons.append(f"CPU: the run ({format_bytes(needed)}) does not fit the GPUs")
    else:
        reasons.append(_cpu_reason(options, choice.engine, choice.method, aer, gpus))
    check_fits(
        spec.num_qubits,
        inventory.cpu,
        method=choice.method,
        precision=options.precision,
        fraction=limits.cpu_memory_fraction,
        needed=needed,
    )
    aer_options: dict[str, AerValue] = {}
    fusion = False
    if choice.engine == "aer":
        fusion, fusion_reason = choose_fusion(spec, options, choice.method)
        aer_options = {**base, "fusion_enable": fusion, "device": "CPU"}
        reasons.append(fusion_reason)
    return SimulationPlan(
        aer_device="CPU",
        devices=("cpu",),
        fusion=fusion,
        options=aer_options,
        reasons=tuple(reasons),
        **common,
    )


def _check_gpu_request(aer: AerInfo, gpus: list[Device]) -> None:
    if not aer.gpu_usable:
        raise DeviceError(
            f"GPU requested but the active Aer build ({aer.distribution} {aer.version}) "
            f"offers {', '.join(aer.devices)}; install qiskit-aer-gpu in place of qiskit-aer "
            "(pip uninstall -y qiskit-aer && pip install qiskit-aer-gpu)",
            field="device",
        )
    if not gpus:
        raise DeviceError("GPU requested but no GPU is visible to this process", field="device")


def _cpu_reason(
    options: SimulationOptions, engine: Engine, method: Method, aer: AerInfo, gpus: list[Device]
) -> str:
    if options.device == "cpu":
        return "CPU as requested"
    if engine != "aer":
        return f"CPU: engine {engine}"
    if not gpus:
        return "CPU: no GPU visible"
    if not aer.gpu_usable:
        return f"CPU: Aer build {aer.distribution} has no GPU support"
    return f"CPU: {method} runs on the CPU"


def _gpu_capacity(gpus: list[Device], aer: AerInfo, fraction: float) -> int:
    """The largest run the GPUs can hold: one GPU, or all of them with cache blocking."""
    best = max(d.memory_free for d in gpus)
    blocking = len(gpus) > 1 and aer.supports("blocking_enable")
    together = sum(d.memory_free for d in gpus) if blocking else 0
    return int(max(best, together) * fraction)


#: Relative cost of one pass of a gate over a CPU statevector, in units of a cx pass. Measured on
#: a 22-qubit state with Aer 0.18 (2 cores): cx/cp/swap/x ~1, ccx 1.4, h/rx ~3, rxx ~6, and a
#: dense k-qubit unitary (what fusion produces) 3, 5, 12, 14, 25 for k = 1..5.
_CPU_FUSED_COST = {1: 3.0, 2: 5.0, 3: 12.0, 4: 14.0, 5: 25.0}
#: On a GPU a pass is bound by memory bandwidth whatever the gate; a fused gate costs little more.
_GPU_FUSED_COST = {1: 1.0, 2: 1.0, 3: 1.1, 4: 1.2, 5: 1.5}
FUSION_MAX_QUBITS = 5  # Aer's fusion_max_qubit default


def _gate_cost(name: str, gpu: bool) -> float:
    gate = GATES[name]
    if gpu:
        return 1.0
    if gate.permutation_or_diagonal:
        return 1.0 + 0.2 * (gate.num_qubits - 1)
    return {1: 3.0, 2: 5.0}.get(gate.num_qubits, 12.0)


def estimate_fusion_costs(spec: CircuitSpec, *, gpu: bool = False) -> tuple[float, float]:
    """(cost without fusion, cost with Aer's fusion), in cx-pass units.

    Fusion is modelled as greedy blocks of up to five qubits: a gate joins the open blocks it
    touches when their union stays within five qubits, else those blocks close. A block of two
    or more gates becomes one dense unitary of its width; a lone gate keeps its own cost.
    """
    fused_cost = _GPU_FUSED_COST if gpu else _CPU_FUSED_COST
    unfused = 0.0
    closed = 0.0
    blocks: list[tuple[set[int], float, int]] = []  # qubits, unfused cost, gates

    def close(block: tuple[set[int], float, int]) -> float:
        qubits, cost, count = block
        return cost if count == 1 else fused_cost[len(qubits)]

    for op in spec.operations:
        touched = [b for b in blocks if b[0] & set(op.qubits)]
        if op.name not in GATES:  # measure, reset, barrier end fusion on their qubits
            for block in touched:
                closed += close(block)
                blocks.remove(block)
            continue
        cost = _gate_cost(op.name, gpu)
        unfused += cost
        union = set(op.qubits).union(*(b[0] for b in touched))
        for block in touched:
            blocks.remove(block)
        if len(union) <= FUSION_MAX_QUBITS:
            blocks.append(
                (union, cost + sum(b[1] for b in touched), 1 + sum(b[2] for b in touched))
            )
        else:
            closed += sum(close(b) for b in touched)
            blocks.append((set(op.qubits), cost, 1))
    closed += sum(close(b) for b in blocks)
    return unfused, closed


def choose_fusion(
    spec: CircuitSpec, options: SimulationOptions, method: Method, *, gpu: bool = False
) -> tuple[bool, str]:
    """Decide gate fusion per circuit instead of taking Aer's default blindly.

    Fusion merges gates into dense blocks of up to five qubits. That pays when many dense gates
    fall into each block (random and variational circuits); it costs when the circuit is made of
    cheap permutation or diagonal gates (cx chains, controlled phases), which Aer applies without
    a dense multiply: a 5-qubit dense block costs about as much as 25 cx passes on a CPU.
    """
    if method not in GPU_METHODS:
        return False, "no fusion for this method"
    if options.fusion != "auto":
        return options.fusion == "on", f"fusion {options.fusion} as requested"
    if spec.num_qubits < FUSION_THRESHOLD:
        return False, f"fusion off below {FUSION_THRESHOLD} qubits (Aer would not fuse either)"
    unfused, fused = estimate_fusion_costs(spec, gpu=gpu)
    if fused < unfused:
        return True, f"fusion on: estimated cost {fused:.0f} fused vs {unfused:.0f} gate by gate"
    return False, f"fusion off: estimated cost {unfused:.0f} gate by gate vs {fused:.0f} fused"


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


def blocking_qubits_for(
    num_qubits: int, method: Method, precision: Precision, smallest_usable: int
) -> int:
    """Chunk width for Aer's cache blocking: a chunk takes at most a quarter of the smallest GPU.

    The rest of each GPU holds its share of the chunks and the buffers Aer swaps through.
    A density-matrix chunk over ``b`` qubits holds ``4^b`` entries, a statevector chunk ``2^b``.
    """
    per_amp = bytes_per_amplitude(precision)
    budget = max(smallest_usable / 4 / per_amp, 1)
    bits = math.floor(math.log2(budget))
    if method == "density_matrix":
        bits //= 2
    return min(bits, num_qubits - 1)


def _gpu_options(
    spec: CircuitSpec,
    options: SimulationOptions,
    method: Method,
    gpus: list[Device],
    needed: int,
    fraction: float,
    aer: AerInfo,
) -> tuple[dict[str, AerValue], list[Device], list[str]] | None:
    """GPU options for one circuit, or None when the state fits no GPU combination."""
    result: dict[str, AerValue] = {"device": "GPU"}
    if aer.supports("cuStateVec_enable") and method == "statevector":
        result["cuStateVec_enable"] = True
    reasons: list[str] = []
    best = max(gpus, key=lambda d: (d.memory_free, -(d.index or 0)))
    if needed <= best.memory_free * fraction:
        used = [best]
        result["target_gpus"] = [best.index or 0]
        reasons.append(f"GPU {best.id}: state {format_bytes(needed)} fits one GPU")
        if (
            options.shots > 1
            and aer.supports("batched_shots_gpu")
            and method == "statevector"
            and spec.is_dynamic
            and spec.num_qubits <= BATCHED_SHOTS_MAX_QUBITS
        ):
            result["batched_shots_gpu"] = True
            reasons.append("batched_shots_gpu: shots run in parallel (mid-circuit measurement)")
        return result, used, reasons
    if len(gpus) < 2 or not aer.supports("blocking_enable"):
        return None
    smallest = min(d.memory_free for d in gpus)
    usable = int(smallest * fraction)
    chunk_qubits = blocking_qubits_for(spec.num_qubits, method, options.precision, usable)
    per_entry = bytes_per_amplitude(options.precision)
    chunk_bytes = per_entry * (4 if method == "density_matrix" else 2) ** chunk_qubits
    # Aer spreads chunks evenly, so the smallest GPU bounds each share; keep two buffer chunks.
    if chunk_qubits < FUSION_MAX_QUBITS or needed / len(gpus) + 2 * chunk_bytes > usable:
        return None
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
    return result, gpus, reasons
