"""The validation and synthesis roles' rules: checks before and after a run, and the report."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from dunes.agents.schemas import Outcome, ValidationCheck
from dunes.config import QuantumSettings
from dunes.devices import Device, Inventory
from dunes.errors import DunesError, InsufficientMemoryError
from dunes.quantum import SimulationOptions, families
from dunes.quantum.backend import aer_info
from dunes.quantum.circuit import CircuitSpec
from dunes.quantum.memory import format_bytes
from dunes.quantum.options import plan_simulation
from dunes.quantum.result import SimulationResult

#: Deeper circuits are refused before running: they are almost surely a generation mistake.
MAX_DEPTH = 100_000
#: A state's norm may drift this far from 1 (double precision; single gets 1e-4).
NORM_TOLERANCE = {"double": 1e-9, "single": 1e-4}
#: Fidelity against the ideal state must reach this (statevector), or this from samples.
STATE_FIDELITY_MIN = 0.999
SAMPLED_FIDELITY_MIN = 0.95
#: Fewer samples than this say too little to judge a distribution.
MIN_SHOTS_TO_JUDGE = 500


def circuit_checks(
    spec: CircuitSpec, *, device: Device, limits: QuantumSettings
) -> list[ValidationCheck]:
    """Qubits against the limit, depth, and memory against ``device``."""
    checks = [
        ValidationCheck(
            name="qubits",
            ok=spec.num_qubits <= limits.max_qubits,
            detail=f"{spec.num_qubits} qubits (limit {limits.max_qubits})",
            value=spec.num_qubits,
        ),
        ValidationCheck(
            name="depth",
            ok=spec.depth <= MAX_DEPTH,
            detail=f"depth {spec.depth}, {spec.gate_count} gates (limit depth {MAX_DEPTH})",
            value=spec.depth,
        ),
    ]
    checks.append(_memory_check(spec, device=device, limits=limits))
    if spec.is_dynamic:
        checks.append(
            ValidationCheck(
                name="measurements",
                ok=None,
                detail="mid-circuit measurement, reset or classical control: no single final "
                "state to compare; the classical bits' distribution is reported",
            )
        )
    return checks


def _memory_check(spec: CircuitSpec, *, device: Device, limits: QuantumSettings) -> ValidationCheck:
    """The peak memory of the run the simulator would plan, against ``device``."""
    inventory = Inventory(
        source="cpu" if device.kind == "cpu" else "nvml",
        cuda_visible_devices=None,
        devices=(device,) if device.kind == "cpu" else (device, _host_device()),
    )
    options = SimulationOptions(device="cpu" if device.kind == "cpu" else "auto")
    try:
        plan = plan_simulation(spec, options, inventory=inventory, aer=aer_info(), limits=limits)
    except InsufficientMemoryError as exc:
        return ValidationCheck(name="memory", ok=False, detail=str(exc), value=None)
    return ValidationCheck(
        name="memory",
        ok=True,
        detail=f"{plan.method} run needs {format_bytes(plan.required_bytes)} at its peak on "
        f"{plan.devices[0]}",
        value=plan.required_bytes,
    )


def _host_device() -> Device:
    from dunes.devices import discover

    return discover().cpu


def _distribution(result: SimulationResult) -> dict[str, float] | None:
    """Outcome frequencies: counts when sampled, else the probabilities."""
    if result.counts:
        total = sum(result.counts.values())
        return {k: v / total for k, v in result.counts.items()}
    if result.probabilities:
        return dict(result.probabilities)
    return None


def result_checks(
    spec: CircuitSpec,
    result: SimulationResult,
    *,
    family: str | None,
    params: Mapping[str, Any] | None,
) -> list[ValidationCheck]:
    """Norm of the state (or of the distribution), and fidelity to the family's ideal state."""
    checks: list[ValidationCheck] = []
    state = result.state
    tolerance = NORM_TOLERANCE.get(result.precision, 1e-4)
    if state is not None:
        norm = float(np.linalg.norm(state))
        checks.append(
            ValidationCheck(
                name="norm",
                ok=abs(norm - 1) <= tolerance,
                detail=f"|ψ| = {norm:.12f} (tolerance {tolerance:g})",
                value=norm,
            )
        )
    else:
        dist = _distribution(result)
        if dist is not None:
            total = sum(dist.values())
            checks.append(
                ValidationCheck(
                    name="norm",
                    ok=abs(total - 1) <= max(tolerance, 1e-6),
                    detail=f"outcome probabilities sum to {total:.9f}",
                    value=total,
                )
            )
        else:
            checks.append(
                ValidationCheck(name="norm", ok=None, detail="no state or outcomes returned")
            )
    checks.append(_fidelity_check(spec, result, state, family=family, params=params))
    return checks


def _fidelity_check(
    spec: CircuitSpec,
    result: SimulationResult,
    state: np.ndarray | None,
    *,
    family: str | None,
    params: Mapping[str, Any] | None,
) -> ValidationCheck:
    if family is None:
        return ValidationCheck(
            name="fidelity", ok=None, detail="no circuit family, so no ideal state"
        )
    merged = {"num_qubits": spec.num_qubits, **dict(params or {})}
    try:
        ideal = families.ideal_state(family, merged)
    except DunesError as exc:
        return ValidationCheck(name="fidelity", ok=None, detail=f"no ideal state: {exc}")
    if ideal is None:
        return ValidationCheck(
            name="fidelity", ok=None, detail=f"{family} has no closed-form ideal state"
        )
    if ideal.size != 2**spec.num_qubits:
        return ValidationCheck(
            name="fidelity",
            ok=None,
            detail=f"ideal state has {ideal.size} amplitudes, circuit has {spec.num_qubits} qubits",
        )
    if spec.is_dynamic:
        return ValidationCheck(
            name="fidelity", ok=None, detail="mid-circuit measurement: not comparable"
        )
    if state is not None:
        value = families.fidelity(state, ideal)
        return ValidationCheck(
            name="fidelity",
            ok=value >= STATE_FIDELITY_MIN,
            detail=f"|<ideal|ψ>|² = {value:.9f} against the ideal {family} state "
            f"(minimum {STATE_FIDELITY_MIN})",
            value=value,
        )
    dist = _distribution(result)
    if dist is None:
        return ValidationCheck(name="fidelity", ok=None, detail="no state or outcomes to compare")
    ideal_p = np.abs(ideal) ** 2
    n = spec.num_qubits
    if any(len(bits.replace(" ", "")) != n for bits in dist):
        return ValidationCheck(
            name="fidelity",
            ok=None,
            detail="outcomes are over classical bits that do not map one to one onto the qubits",
        )
    overlap = sum(math.sqrt(p * ideal_p[int(bits.replace(" ", ""), 2)]) for bits, p in dist.items())
    value = float(overlap**2)
    judged = result.shots >= MIN_SHOTS_TO_JUDGE or result.counts is None
    return ValidationCheck(
        name="fidelity",
        ok=(value >= SAMPLED_FIDELITY_MIN) if judged else None,
        detail=f"classical fidelity of the {n}-qubit outcome distribution to the ideal "
        f"{family} one: {value:.6f}"
        + ("" if judged else f" (only {result.shots} shots, not judged)"),
        value=value,
    )


def verdict_of(checks: list[ValidationCheck]) -> tuple[bool, str]:
    """(passed, one line) for a list of checks."""
    failed = [c for c in checks if c.ok is False]
    if failed:
        return False, "failed: " + "; ".join(f"{c.name}: {c.detail}" for c in failed)
    unknown = [c.name for c in checks if c.ok is None]
    done = [c.name for c in checks if c.ok]
    line = "passed: " + ", ".join(done) if done else "nothing could be checked"
    if unknown:
        line += f" (not checked: {', '.join(unknown)})"
    return True, line


def top_outcomes(result: SimulationResult, k: int = 5) -> list[Outcome]:
    """The ``k`` likeliest outcomes, likeliest first."""
    dist = _distribution(result)
    if dist is None and result.top_amplitudes:
        dist = {a.bitstring: a.probability for a in result.top_amplitudes}
    if dist is None:
        state = result.state
        if state is None:
            return []
        probs = np.abs(state) ** 2
        order = np.argsort(-probs, kind="stable")[:k]
        return [
            Outcome(bitstring=format(int(i), f"0{result.num_qubits}b"), probability=float(probs[i]))
            for i in order
            if probs[i] > 1e-12
        ]
    ranked = sorted(dist.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return [Outcome(bitstring=b, probability=float(p)) for b, p in ranked if p > 1e-12]
