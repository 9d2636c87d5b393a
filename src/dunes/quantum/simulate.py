"""Qiskit Aer behind one call: ``simulate()`` for a circuit, ``simulate_many()`` for a batch."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from dunes.config import QuantumSettings
from dunes.devices import Inventory, discover
from dunes.errors import CircuitValidationError, SimulationError
from dunes.quantum.backend import AerInfo, aer_info
from dunes.quantum.circuit import CircuitSpec
from dunes.quantum.observables import pauli_label
from dunes.quantum.options import AerPlan, SimulationOptions, plan_simulation
from dunes.quantum.result import (
    SimulationResult,
    complex_pairs,
    probabilities_of,
    top_amplitudes,
    write_array,
)


def simulate(
    spec: CircuitSpec,
    options: SimulationOptions | None = None,
    *,
    inventory: Inventory | None = None,
    settings: QuantumSettings | None = None,
    artifacts_dir: Path | None = None,
) -> SimulationResult:
    """Run one circuit on the device the plan picks.

    Raises:
        CircuitValidationError: a limit or an observable is wrong.
        DeviceError / InsufficientMemoryError: no device can run it.
        SimulationError: Aer failed.
    """
    return simulate_many(
        [spec], options, inventory=inventory, settings=settings, artifacts_dir=artifacts_dir
    )[0]


def simulate_many(
    specs: Sequence[CircuitSpec],
    options: SimulationOptions | None = None,
    *,
    inventory: Inventory | None = None,
    settings: QuantumSettings | None = None,
    artifacts_dir: Path | None = None,
) -> list[SimulationResult]:
    """Run several circuits, spread over the GPUs when there are several, results in order."""
    opts = options or SimulationOptions()
    limits = settings or QuantumSettings()
    inv = inventory or discover()
    aer = aer_info()
    for spec in specs:
        _check_limits(spec, opts, limits)
    plans = [
        plan_simulation(
            spec,
            opts,
            inventory=inv,
            aer=aer,
            cpu_fraction=limits.cpu_memory_fraction,
            gpu_fraction=limits.gpu_memory_fraction,
        )
        for spec in specs
    ]
    plans = _spread_over_gpus(plans, inv, fraction=limits.gpu_memory_fraction)
    groups: dict[str, list[int]] = {}
    for index, plan in enumerate(plans):
        groups.setdefault(repr(sorted(plan.options.items())), []).append(index)
    results: list[SimulationResult | None] = [None] * len(specs)

    def run_group(indices: list[int]) -> None:
        # Aer seeds the k-th circuit of a run with seed + k; with a seed, each circuit runs alone
        # so that its samples do not depend on its place in the batch.
        chunks = [[i] for i in indices] if opts.seed is not None else [indices]
        for chunk in chunks:
            batch = _run_batch(
                [specs[i] for i in chunk], plans[chunk[0]], opts, aer, limits, artifacts_dir
            )
            for i, result in zip(chunk, batch, strict=True):
                results[i] = result

    if len(groups) == 1:
        run_group(next(iter(groups.values())))
    else:
        with ThreadPoolExecutor(max_workers=len(groups)) as pool:
            list(pool.map(run_group, groups.values()))
    return [r for r in results if r is not None]


def _check_limits(spec: CircuitSpec, opts: SimulationOptions, limits: QuantumSettings) -> None:
    if spec.num_qubits > limits.max_qubits:
        raise CircuitValidationError(
            f"circuit has {spec.num_qubits} qubits; the limit is {limits.max_qubits} "
            "(setting quantum.max_qubits)",
            field="circuit",
        )
    if opts.shots > limits.max_shots:
        raise CircuitValidationError(
            f"shots={opts.shots} exceeds the limit of {limits.max_shots} (setting quantum.max_shots)",
            field="shots",
        )


def _spread_over_gpus(
    plans: list[AerPlan], inventory: Inventory, *, fraction: float = 0.9
) -> list[AerPlan]:
    """Give single-GPU plans of a batch different GPUs, round-robin by free memory.

    A GPU whose usable memory (``fraction`` of free) cannot hold a plan's state is skipped for it.
    """
    single = [i for i, p in enumerate(plans) if p.aer_device == "GPU" and len(p.devices) == 1]
    gpus = sorted(inventory.gpus, key=lambda d: (-d.memory_free, d.index or 0))
    if len(single) < 2 or len(gpus) < 2:
        return plans
    spread = list(plans)
    for slot, index in enumerate(single):
        device = gpus[slot % len(gpus)]
        if plans[index].required_bytes > device.memory_free * fraction:
            continue
        spread[index] = plans[index].model_copy(
            update={
                "devices": (device.id,),
                "options": {**plans[index].options, "target_gpus": [device.index or 0]},
            }
        )
    return spread


@functools.cache
def _basis_gates(method: str, device: str) -> frozenset[str]:
    from qiskit_aer import AerSimulator

    return frozenset(AerSimulator(method=method, device=device).configuration().basis_gates)


def _build_circuit(spec: CircuitSpec, opts: SimulationOptions, plan: AerPlan) -> Any:
    """The Qiskit circuit with save instructions placed before the terminal measurements."""
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Pauli

    body_ops, tail = spec.split_terminal_measurements()
    # A circuit without measurements gets one classical bit per qubit for its counts.
    body_clbits = spec.num_clbits if spec.has_measurements else 0
    body = CircuitSpec.model_construct(
        num_qubits=spec.num_qubits, num_clbits=body_clbits, operations=body_ops, name=spec.name
    ).to_qiskit()
    qc = QuantumCircuit(spec.num_qubits, body_clbits or spec.num_qubits)
    qc.compose(body, qubits=range(spec.num_qubits), clbits=range(body_clbits), inplace=True)
    if opts.wants_statevector:
        if plan.method in ("statevector", "matrix_product_state"):
            qc.save_statevector(label="statevector")
        elif plan.method == "density_matrix":
            qc.save_density_matrix(label="density_matrix")
    for index, text in enumerate(opts.observables):
        qc.save_expectation_value(
            Pauli(pauli_label(text, spec.num_qubits)),
            list(range(spec.num_qubits)),
            label=f"observable_{index}",
        )
    if opts.shots > 0:
        if tail:
            for op in tail:
                qc.measure(list(op.qubits), list(op.clbits))
        elif not spec.has_measurements:
            qc.measure(range(spec.num_qubits), range(spec.num_qubits))
    basis = _basis_gates(plan.method, plan.aer_device) | {"measure", "barrier", "reset"}
    for _ in range(8):  # decompose what this Aer method lacks (rccx, ch, ... on some methods)
        missing = {
            inst.operation.name
            for inst in qc.data
            if inst.operation.name not in basis and not inst.operation.name.startswith("save_")
        }
        if not missing:
            break
        qc = qc.decompose(gates_to_decompose=sorted(missing))
    return qc


def _run_batch(
    specs: list[CircuitSpec],
    plan: AerPlan,
    opts: SimulationOptions,
    aer: AerInfo,
    limits: QuantumSettings,
    artifacts_dir: Path | None,
) -> list[SimulationResult]:
    from qiskit_aer import AerSimulator
    from qiskit_aer.aererror import AerError

    circuits = [_build_circuit(spec, opts, plan) for spec in specs]
    started = time.perf_counter()
    try:
        simulator = AerSimulator(**plan.options)
        aer_result = simulator.run(circuits, shots=max(opts.shots, 1)).result()
    except AerError as exc:
        raise SimulationError(f"Aer failed: {exc}") from exc
    elapsed = time.perf_counter() - started
    if not aer_result.success:
        raise SimulationError(f"Aer failed: {aer_result.status}")
    return [
        _to_result(
            spec,
            plan,
            opts,
            aer,
            limits,
            artifacts_dir,
            aer_result,
            index,
            elapsed,
            circuits[index],
        )
        for index, spec in enumerate(specs)
    ]


def _to_result(
    spec: CircuitSpec,
    plan: AerPlan,
    opts: SimulationOptions,
    aer: AerInfo,
    limits: QuantumSettings,
    artifacts_dir: Path | None,
    aer_result: Any,
    index: int,
    elapsed: float,
    circuit: Any,
) -> SimulationResult:
    data = aer_result.data(index)
    fields: dict[str, Any] = {}
    state: np.ndarray | None = None
    if "statevector" in data:
        state = np.asarray(
            data["statevector"], dtype=np.complex128 if opts.precision == "double" else np.complex64
        )
    elif "density_matrix" in data:
        rho = np.asarray(data["density_matrix"])
        fields["probabilities"] = _probabilities(np.real(np.diag(rho)), spec.num_qubits)
    if state is not None:
        if spec.num_qubits <= limits.statevector_json_max_qubits:
            fields["statevector"] = complex_pairs(state)
            fields["probabilities"] = _probabilities(probabilities_of(state), spec.num_qubits)
        else:
            top = top_amplitudes(state, spec.num_qubits, limits.top_amplitudes)
            fields["statevector_truncated"] = True
            fields["top_amplitudes"] = top
            fields["probabilities"] = {a.bitstring: a.probability for a in top if a.probability > 0}
            if artifacts_dir is not None:
                fields["artifact"] = write_array(state, artifacts_dir)
    if opts.shots > 0:
        fields["counts"] = counts_of(aer_result, index, circuit)
    if opts.observables:
        fields["expectation_values"] = {
            text: float(np.real(data[f"observable_{i}"])) for i, text in enumerate(opts.observables)
        }
    result = SimulationResult(
        num_qubits=spec.num_qubits,
        circuit=spec.to_seed(),
        circuit_sha256=spec.sha256(),
        device=plan.devices[0],
        devices=plan.devices,
        aer_device=plan.aer_device,
        backend=f"{aer.distribution} {aer.version}",
        method=plan.method,
        precision=opts.precision,
        fusion=plan.fusion,
        shots=opts.shots,
        seed=opts.seed,
        reasons=plan.reasons,
        timings={"aer_s": elapsed},
        **{k: v for k, v in fields.items() if k not in _BUILT_HERE},
    )
    # Amplitude pairs and probability maps are built here with the declared types already;
    # validating 2^16 pairs again would cost more than simulating a small circuit.
    built = {k: v for k, v in fields.items() if k in _BUILT_HERE}
    if built:
        result = result.model_copy(update=built)
    result._state = state
    return result


_BUILT_HERE = frozenset({"statevector", "probabilities", "counts"})


def counts_of(aer_result: Any, index: int, circuit: Any) -> dict[str, int]:
    """Counts keyed by bitstring (clbit 0 rightmost), sorted by key.

    With one classical register the hex keys Aer returns are widened directly: Qiskit's general
    formatter (several registers, spaces between them) costs more than a stabilizer run of
    10,000 shots.
    """
    if len(circuit.cregs) != 1:
        return dict(sorted(aer_result.get_counts(index).items()))
    width = f"0{circuit.num_clbits}b"
    raw = aer_result.data(index)["counts"]
    return dict(sorted((format(int(key, 16), width), count) for key, count in raw.items()))


def _probabilities(values: np.ndarray, num_qubits: int, cutoff: float = 1e-12) -> dict[str, float]:
    nonzero = np.flatnonzero(values > cutoff)
    width = f"0{num_qubits}b"
    keys = [format(i, width) for i in nonzero.tolist()]
    return dict(zip(keys, values[nonzero].tolist(), strict=True))
