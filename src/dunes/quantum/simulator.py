"""One call for a circuit (``simulate``), one for a batch (``simulate_many``).

Each circuit gets its own plan (``plan_simulation``) and runs on the engine the plan names: Aer
(statevector, density matrix, matrix product state, stabilizer), stim (Clifford circuits at any
size) or dunes' branch follower (exact answers for circuits that measure mid-circuit).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from dunes.config import QuantumSettings
from dunes.devices import Inventory, discover
from dunes.errors import CircuitValidationError, SimulationError
from dunes.quantum import branches as branch_engine
from dunes.quantum import stabilizer as stim_engine
from dunes.quantum.backend import AerInfo, aer_info
from dunes.quantum.circuit import CircuitSpec, MeasurementSplit, walk
from dunes.quantum.gates import IF_ELSE
from dunes.quantum.memory import format_bytes
from dunes.quantum.observables import pauli_label
from dunes.quantum.options import SimulationOptions, SimulationPlan, plan_simulation
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
    """Run one circuit on the device and method its plan picks.

    ``artifacts_dir``: where a state too big for JSON is written as ``.npy``; None writes
    nothing (the result keeps the top amplitudes, and ``result.state`` in this process).

    Raises:
        CircuitValidationError: a limit or an observable is wrong.
        DeviceError / InsufficientMemoryError: no device or method can run it.
        SimulationError: the simulator failed.
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
    plans = [plan_simulation(spec, opts, inventory=inv, aer=aer, limits=limits) for spec in specs]
    plans = _spread_over_gpus(plans, inv, fraction=limits.gpu_memory_fraction)
    run = _Run(opts, aer, limits, artifacts_dir, inv)
    results: list[SimulationResult | None] = [None] * len(specs)
    groups: dict[str, list[int]] = {}
    for index, (spec, plan) in enumerate(zip(specs, plans, strict=True)):
        if plan.engine == "aer":
            groups.setdefault(f"{sorted(plan.options.items())!r}/{plan.shots}", []).append(index)
        else:
            results[index] = run.one(spec, plan)

    def run_group(indices: list[int]) -> None:
        # Aer seeds the k-th circuit of a run with seed + k; with a seed, each circuit runs alone
        # so that its samples do not depend on its place in the batch.
        chunks = [[i] for i in indices] if opts.seed is not None else [indices]
        for chunk in chunks:
            batch = run.aer([specs[i] for i in chunk], plans[chunk[0]])
            for i, result in zip(chunk, batch, strict=True):
                results[i] = result

    if len(groups) <= 1:
        for indices in groups.values():
            run_group(indices)
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
    for text in opts.observables:
        pauli_label(text, spec.num_qubits)


def _spread_over_gpus(
    plans: list[SimulationPlan], inventory: Inventory, *, fraction: float = 0.9
) -> list[SimulationPlan]:
    """Give single-GPU plans of a batch different GPUs, round-robin by free memory.

    A GPU whose usable memory (``fraction`` of free) cannot hold a plan's run is skipped for it.
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


class _Run:
    """What every engine shares while turning one batch into results."""

    def __init__(
        self,
        opts: SimulationOptions,
        aer: AerInfo,
        limits: QuantumSettings,
        artifacts_dir: Path | None,
        inventory: Inventory,
    ) -> None:
        self.opts = opts
        self.aer_info = aer
        self.limits = limits
        self.artifacts_dir = artifacts_dir
        self.inventory = inventory

    # --- engines other than Aer --------------------------------------------------------------

    def one(self, spec: CircuitSpec, plan: SimulationPlan) -> SimulationResult:
        started = time.perf_counter()
        if plan.engine == "branches":
            try:
                fields, extra = self.branches(spec, plan)
            except branch_engine.TooManyBranches as exc:
                fallback = plan_simulation(
                    spec,
                    self.opts,
                    inventory=self.inventory,
                    aer=self.aer_info,
                    limits=self.limits,
                    allow_branches=False,
                )
                why = f"following every branch stopped ({exc}): "
                fallback = fallback.model_copy(
                    update={"reasons": (why + fallback.reasons[0], *fallback.reasons[1:])}
                )
                if fallback.engine == "aer":
                    return self.aer([spec], fallback)[0]
                return self.one(spec, fallback)
            backend = f"dunes branches (numpy {np.__version__})"
        else:
            fields, extra = self.stim(spec, plan)
            backend = f"stim {stim_engine.stim_version()}"
        elapsed = time.perf_counter() - started
        return self.result(
            spec, plan, fields, backend=backend, elapsed=elapsed, reasons=plan.reasons + extra
        )

    def branches(
        self, spec: CircuitSpec, plan: SimulationPlan
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        split = spec.split_measurements()
        budget = min(
            self.limits.max_branch_amplitudes,
            max(plan.required_bytes // 16, 2**spec.num_qubits),
        )
        outcome = branch_engine.follow_branches(
            spec, split, observables=self.opts.observables, max_amplitudes=budget
        )
        fields: dict[str, Any] = {
            "probabilities": outcome.distribution,
            "probabilities_of": "clbits",
            "branches": len(outcome.branches),
        }
        extra = [f"{len(outcome.branches)} branch(es) at the end"]
        if self.opts.observables:
            fields["expectation_values"] = outcome.expectation_values
        if plan.shots > 0:
            fields["counts"] = _sample(outcome.distribution, plan.shots, self.opts.seed)
            extra.append("counts drawn from the exact distribution")
        state = None
        if len(outcome.branches) == 1:
            state, fields["state_of"] = outcome.branches[0].normalised(), "only_branch"
        elif plan.statevector:
            seed = self.opts.seed if self.opts.seed is not None else _fresh_seed()
            state = outcome.pick(seed).normalised()
            fields["state_of"] = "sampled_branch"
            fields["seed"] = seed
            extra.append(f"statevector: one branch drawn at random with seed {seed}")
        if state is not None:
            fields.update(self.state_fields(state, spec.num_qubits, probabilities=False))
        return fields, tuple(extra)

    def stim(
        self, spec: CircuitSpec, plan: SimulationPlan
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        split = spec.split_measurements()
        fields: dict[str, Any] = {}
        extra: list[str] = []
        shots = plan.shots
        if not split.dynamic and (plan.shots == 0 or self.opts.observables):
            body = stim_engine.unitary_part(spec, split.body)
            if plan.shots == 0:
                exact = stim_engine.exact_distribution(
                    body, spec.num_qubits, max_outcomes=self.limits.max_outcomes
                )
                if exact is None:
                    shots = self.limits.fallback_shots
                    fields["exact"] = False
                    extra.append(
                        f"the exact distribution has more than {self.limits.max_outcomes} "
                        f"outcomes (setting quantum.max_outcomes): {shots} samples drawn"
                    )
                else:
                    distribution, random_bits = exact
                    fields["probabilities"] = distribution
                    fields["probabilities_of"] = "qubits"
                    extra.append(f"exact distribution: {2**random_bits} equally likely outcomes")
            if self.opts.observables:
                labels = [pauli_label(t, spec.num_qubits) for t in self.opts.observables]
                values = stim_engine.expectation_values(body, spec.num_qubits, labels)
                fields["expectation_values"] = dict(zip(self.opts.observables, values, strict=True))
        if shots > 0:
            program = stim_engine.to_stim(spec)
            if program is None:
                raise SimulationError("stim cannot run this circuit after all")
            fields["counts"] = stim_engine.sample_counts(program, shots, self.opts.seed)
            fields["shots"] = shots
        if not plan.exact:
            fields["exact"] = False
        return fields, tuple(extra)

    # --- Aer -----------------------------------------------------------------------------

    def aer(self, specs: list[CircuitSpec], plan: SimulationPlan) -> list[SimulationResult]:
        from qiskit_aer import AerSimulator
        from qiskit_aer.aererror import AerError

        circuits = [
            _build_circuit(spec, spec.split_measurements(), self.opts, plan) for spec in specs
        ]
        started = time.perf_counter()
        try:
            simulator = AerSimulator(**plan.options)
            aer_result = simulator.run(circuits, shots=max(plan.shots, 1)).result()
        except AerError as exc:
            raise SimulationError(f"Aer failed: {exc}") from exc
        elapsed = time.perf_counter() - started
        if not aer_result.success:
            raise SimulationError(f"Aer failed: {aer_result.status}")
        backend = f"{self.aer_info.distribution} {self.aer_info.version}"
        results = []
        for index, spec in enumerate(specs):
            _check_truncation(aer_result, index, plan)
            fields = self.aer_fields(spec, plan, aer_result, index)
            results.append(
                self.result(
                    spec, plan, fields, backend=backend, elapsed=elapsed, reasons=plan.reasons
                )
            )
        return results

    def aer_fields(
        self, spec: CircuitSpec, plan: SimulationPlan, aer_result: Any, index: int
    ) -> dict[str, Any]:
        data = aer_result.data(index)
        fields: dict[str, Any] = {}
        if "statevector" in data:
            dtype = np.complex128 if self.opts.precision == "double" else np.complex64
            state = np.asarray(data["statevector"], dtype=dtype)
            if plan.statevector:
                fields.update(self.state_fields(state, spec.num_qubits, probabilities=True))
                fields["state_of"] = "before_final_measurements"
            else:
                fields.update(self.distribution_fields(state, spec.num_qubits))
        elif "probabilities" in data:
            fields["probabilities"] = _probabilities(
                np.asarray(data["probabilities"]), spec.num_qubits
            )
            fields["probabilities_of"] = "qubits"
        if plan.shots > 0:
            fields["counts"] = counts_of(aer_result, index, _clbit_width(spec, plan))
        if self.opts.observables:
            fields["expectation_values"] = {
                text: float(np.real(data[f"observable_{i}"]))
                for i, text in enumerate(self.opts.observables)
            }
        if not plan.exact:
            fields["exact"] = False
            if plan.dynamic:
                fields["probabilities_of"] = None
        return fields

    # --- shared --------------------------------------------------------------------------

    def state_fields(
        self, state: np.ndarray, num_qubits: int, *, probabilities: bool
    ) -> dict[str, Any]:
        """Amplitudes as JSON, or the top ones and a ``.npy`` artifact for big states."""
        fields: dict[str, Any] = {"_state": state}
        if num_qubits <= self.limits.statevector_json_max_qubits:
            fields["statevector"] = complex_pairs(state)
            if probabilities:
                fields["probabilities"] = _probabilities(probabilities_of(state), num_qubits)
                fields["probabilities_of"] = "qubits"
            return fields
        # The artifact is hashed and written on other threads while the top amplitudes are found
        # here: all three read the state and let go of the GIL, so they overlap.
        with ThreadPoolExecutor(1, "dunes-artifact") as writer:
            writing = (
                writer.submit(write_array, state, self.artifacts_dir)
                if self.artifacts_dir is not None
                else None
            )
            top = top_amplitudes(state, num_qubits, self.limits.top_amplitudes)
            if writing is not None:
                fields["artifact"] = writing.result()
        fields["statevector_truncated"] = True
        fields["top_amplitudes"] = top
        if probabilities:
            fields["probabilities"] = {a.bitstring: a.probability for a in top if a.probability > 0}
            fields["probabilities_of"] = "qubits"
        return fields

    def distribution_fields(self, state: np.ndarray, num_qubits: int) -> dict[str, Any]:
        """Probabilities of a state whose amplitudes were not asked for."""
        if num_qubits <= self.limits.statevector_json_max_qubits:
            return {
                "probabilities": _probabilities(probabilities_of(state), num_qubits),
                "probabilities_of": "qubits",
            }
        top = top_amplitudes(state, num_qubits, self.limits.top_amplitudes)
        return {
            "probabilities": {a.bitstring: a.probability for a in top if a.probability > 0},
            "probabilities_of": "qubits",
        }

    def result(
        self,
        spec: CircuitSpec,
        plan: SimulationPlan,
        fields: dict[str, Any],
        *,
        backend: str,
        elapsed: float,
        reasons: tuple[str, ...],
    ) -> SimulationResult:
        state = fields.pop("_state", None)
        built = {k: fields.pop(k) for k in _BUILT_HERE if k in fields}
        fields.setdefault("shots", plan.shots)
        fields.setdefault("seed", self.opts.seed)
        result = SimulationResult(
            num_qubits=spec.num_qubits,
            circuit=spec.to_seed(),
            circuit_sha256=spec.sha256(),
            device=plan.devices[0],
            devices=plan.devices,
            aer_device=plan.aer_device,
            backend=backend,
            method=plan.method,
            precision=self.opts.precision,
            fusion=plan.fusion,
            reasons=(*reasons, _reported(plan, fields, built)),
            timings={"aer_s": elapsed, "run_s": elapsed},
            **fields,
        )
        # Amplitude pairs and probability maps are built here with the declared types already;
        # validating 2^16 pairs again would cost more than simulating a small circuit.
        if built:
            result = result.model_copy(update=built)
        result._state = state
        return result


_BUILT_HERE = ("statevector", "probabilities", "counts")


def _reported(plan: SimulationPlan, fields: dict[str, Any], built: dict[str, Any]) -> str:
    """One reason that says which state and which distribution the result holds."""
    parts = []
    state_of = fields.get("state_of")
    if state_of == "before_final_measurements":
        parts.append("statevector: the state before the final measurements")
    elif state_of == "only_branch":
        parts.append("statevector: the only branch the circuit reaches")
    elif state_of == "sampled_branch":
        parts.append(f"statevector: one branch drawn at random (seed {fields.get('seed')})")
    if "probabilities" in built:
        over = fields.get("probabilities_of")
        if over == "clbits":
            parts.append("probabilities: exact distribution of the classical bits")
        elif fields.get("statevector_truncated") or fields.get("top_amplitudes"):
            parts.append(
                "probabilities: of the top amplitudes of the state before the final measurements"
            )
        else:
            parts.append("probabilities: exact, of the state before the final measurements")
    if "counts" in built:
        parts.append(f"counts: {fields.get('shots', plan.shots)} samples")
    if fields.get("exact") is False and "expectation_values" in fields:
        parts.append("expectation values: averaged over the samples")
    return "reported: " + ("; ".join(parts) if parts else "nothing but the run itself")


def _fresh_seed() -> int:
    return int(np.random.default_rng().integers(0, 2**31 - 1))


def _sample(distribution: dict[str, float], shots: int, seed: int | None) -> dict[str, int]:
    """Counts of ``shots`` draws from an exact distribution (multinomial, seeded)."""
    keys = list(distribution)
    weights = np.array([distribution[k] for k in keys], dtype=float)
    weights /= weights.sum()
    drawn = np.random.default_rng(seed).multinomial(shots, weights)
    return {k: int(c) for k, c in zip(keys, drawn.tolist(), strict=True) if c}


@functools.cache
def _basis_gates(method: str, device: str) -> frozenset[str]:
    return frozenset(_simulator(method, device).configuration().basis_gates)


def _clbit_width(spec: CircuitSpec, plan: SimulationPlan) -> int:
    """Classical bits of the run: the circuit's own, or one per qubit for its counts."""
    if spec.has_measurements or spec.num_clbits:
        return spec.num_clbits
    return spec.num_qubits if plan.shots > 0 else 0


def _build_circuit(
    spec: CircuitSpec, split: MeasurementSplit, opts: SimulationOptions, plan: SimulationPlan
) -> Any:
    """The Qiskit circuit for Aer: the body, the saves, then the final measurements.

    A save placed last lets Aer move the state into the result instead of copying it.
    """
    from qiskit.circuit.library import Measure
    from qiskit.quantum_info import Pauli

    width = _clbit_width(spec, plan)
    body = CircuitSpec.model_construct(
        num_qubits=spec.num_qubits,
        num_clbits=width,
        operations=split.body,
        name=spec.name,
        global_phase=spec.global_phase,
    )
    qc = body.to_qiskit()
    if plan.method == "density_matrix" and not plan.dynamic:
        qc.save_probabilities(label="probabilities")
    elif (
        plan.method in ("statevector", "matrix_product_state")
        and not plan.dynamic
        and (plan.statevector or plan.shots == 0)
    ):
        qc.save_statevector(label="statevector")
    for index, text in enumerate(opts.observables):
        qc.save_expectation_value(
            Pauli(pauli_label(text, spec.num_qubits)),
            list(range(spec.num_qubits)),
            label=f"observable_{index}",
        )
    if plan.shots > 0:
        if split.final:
            for qubit, clbit in split.final:
                qc.append(Measure(), [qc.qubits[qubit]], [qc.clbits[clbit]])
        elif not spec.has_measurements:
            qc.measure(range(spec.num_qubits), range(spec.num_qubits))
    return _within_basis(qc, spec, plan)


def _within_basis(qc: Any, spec: CircuitSpec, plan: SimulationPlan) -> Any:
    """Rewrite gates this Aer method lacks (rccx, ch, ... on some methods), in blocks too."""
    basis = _basis_gates(plan.method, plan.aer_device) | {"measure", "barrier", "reset", IF_ELSE}
    if not {op.name for op in walk(spec.operations)} - basis:
        return qc
    from qiskit import transpile

    return transpile(qc, _simulator(plan.method, plan.aer_device), optimization_level=0)


@functools.cache
def _simulator(method: str, device: str) -> Any:
    from qiskit_aer import AerSimulator

    return AerSimulator(method=method, device=device)


def counts_of(aer_result: Any, index: int, width: int) -> dict[str, int]:
    """Counts keyed by bitstring over every classical bit (clbit 0 rightmost), sorted by key.

    Aer's raw keys are hex over all classical bits, whatever registers name them; widening
    them directly also beats Qiskit's general formatter, which costs more than a stabilizer
    run of 10,000 shots.
    """
    raw = aer_result.data(index)["counts"]
    fmt = f"0{max(width, 1)}b"
    return dict(sorted((format(int(key, 16), fmt), count) for key, count in raw.items()))


_DISCARDED = re.compile(r"discarded_value=([0-9.eE+-]+)")


def _check_truncation(aer_result: Any, index: int, plan: SimulationPlan) -> None:
    """A matrix product state whose bond cap was reached answered approximately: refuse it."""
    if plan.mps_max_bond is None:
        return
    log = aer_result.results[index].metadata.get("MPS_log_data", "")
    discarded = sum(float(v) for v in _DISCARDED.findall(log))
    if discarded > 1e-10:
        raise SimulationError(
            f"the matrix product state needed more than bond dimension {plan.mps_max_bond}, "
            f"the most that fits in memory ({format_bytes(plan.required_bytes)}); an answer "
            f"would be approximate (weight {discarded:.3g} discarded), so none is given. The "
            "circuit is too entangled for this machine: use fewer qubits or a bigger host",
            field="circuit",
        )


def _probabilities(values: np.ndarray, num_qubits: int, cutoff: float = 1e-12) -> dict[str, float]:
    nonzero = np.flatnonzero(values > cutoff)
    width = f"0{num_qubits}b"
    keys = [format(i, width) for i in nonzero.tolist()]
    return dict(zip(keys, values[nonzero].tolist(), strict=True))
