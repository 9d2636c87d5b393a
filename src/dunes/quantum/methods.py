"""Which simulation method a circuit gets, what it can report, and why.

Limits belong to methods, not to a qubit count: the stabilizer runs Clifford circuits of any
size, a matrix product state runs circuits whose entanglement stays low, a statevector runs
whatever fits in memory, and following branches gives exact answers for circuits that measure
or reset before their end. ``choose_method`` picks per circuit; a refusal says what would work.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from dunes.config import QuantumSettings
from dunes.errors import (
    CircuitValidationError,
    DeviceError,
    InsufficientMemoryError,
    InvalidInputError,
)
from dunes.quantum.backend import AerInfo
from dunes.quantum.circuit import CircuitSpec, MeasurementSplit, walk
from dunes.quantum.gates import GATES
from dunes.quantum.memory import (
    RUN_OVERHEAD_BYTES,
    Method,
    MpsBound,
    counts_bytes,
    density_matrix_peak,
    format_bytes,
    mps_bound,
    mps_peak,
    state_bytes,
    statevector_peak,
)
from dunes.quantum.stabilizer import sample_bytes, to_stim

#: Where a method runs: Aer, stim (Clifford circuits), or dunes' own branch follower.
Engine = Literal["aer", "stim", "branches"]
#: Methods Aer can run on a GPU.
GPU_METHODS = ("statevector", "density_matrix")
#: Narrower circuits run as statevectors in milliseconds: no need to weigh anything else.
MPS_CONSIDERED_FROM = 14
#: Seconds per amplitude per gate of an Aer statevector pass, and per unit of MPS work (a
#: bond dimension squared per qubit per shot when sampling, (2 chi)^3 per two-qubit gate),
#: measured with bench/simulate.py --mixed on this project's 2-core test machine.
STATEVECTOR_PASS_S = 1.7e-9
MPS_UNIT_S = 9e-8


def statevector_seconds(spec: CircuitSpec) -> float:
    """Rough time of a statevector run: every gate is a pass over 2^n amplitudes."""
    return max(spec.gate_count, 1) * 2.0**spec.num_qubits * STATEVECTOR_PASS_S


def mps_seconds(spec: CircuitSpec, bound: MpsBound, shots: int) -> float:
    """Rough upper bound on an MPS run: two-qubit gates' SVDs and sampling every shot."""
    squares = sum(float(b) ** 2 for b in bound.bonds) or 1.0
    gates = sum((2.0 * bound.max_bond) ** 3 for op in walk(spec.operations) if len(op.qubits) >= 2)
    return (shots * squares + gates / 10) * MPS_UNIT_S


@dataclass(frozen=True)
class Capacity:
    """Bytes a run may take: on the host, and for a statevector or density matrix at best
    (the host, one GPU or several together, whichever holds most), with where that is."""

    host: int
    state: int
    state_where: str = "the host"
    gpu: bool = False


@dataclass(frozen=True)
class MethodChoice:
    """How a circuit runs and what its result reports.

    ``statevector``: the amplitudes of the state before the final measurements are reported.
    ``exact``: False when samples stand in for an exact answer (no shots were asked for but
    nothing exact is in reach) or expectation values are averaged over samples.
    ``shots``: samples to draw; more than asked when nothing exact is in reach.
    """

    method: Method
    engine: Engine
    statevector: bool
    exact: bool
    shots: int
    predicted_bytes: int
    reasons: tuple[str, ...] = field(default=())
    mps_max_bond: int | None = None


def choose_method(
    spec: CircuitSpec,
    split: MeasurementSplit,
    *,
    shots: int,
    method: str,
    statevector: bool | None,
    precision: Literal["double", "single"],
    on_gpu_only: bool,
    aer: AerInfo,
    limits: QuantumSettings,
    capacity: Capacity,
    observables: bool = False,
    allow_branches: bool = True,
) -> MethodChoice:
    """Decide method, engine and outputs for ``spec``.

    Raises:
        DeviceError: the requested method is not in this Aer build.
        CircuitValidationError: the stabilizer was asked for a circuit that is not Clifford.
        InvalidInputError: a statevector was asked of the stabilizer method.
        InsufficientMemoryError: no method fits; the message says what would.
    """
    chooser = _Chooser(
        spec, split, shots, statevector, precision, on_gpu_only, aer, limits, capacity, observables
    )
    if method != "auto":
        if method not in aer.methods:
            raise DeviceError(
                f"method {method!r} is not available in {aer.distribution}; "
                f"available: {', '.join(aer.methods)}",
                field="method",
            )
        return chooser.requested(method, allow_branches=allow_branches)  # type: ignore[arg-type]
    if split.dynamic:
        return chooser.dynamic(allow_branches=allow_branches)
    return chooser.static()


class _Chooser:
    def __init__(
        self,
        spec: CircuitSpec,
        split: MeasurementSplit,
        shots: int,
        statevector: bool | None,
        precision: Literal["double", "single"],
        on_gpu_only: bool,
        aer: AerInfo,
        limits: QuantumSettings,
        capacity: Capacity,
        observables: bool,
    ) -> None:
        self.spec = spec
        self.split = split
        self.n = spec.num_qubits
        self.shots = shots
        self.explicit_state = statevector is True
        self.state_wanted = shots == 0 if statevector is None else statevector
        self.precision = precision
        self.gpu_only = on_gpu_only
        self.aer = aer
        self.limits = limits
        self.capacity = capacity
        self.clifford = spec.is_clifford
        self.observables = observables

    # --- figures ---------------------------------------------------------------------------

    def sampled_shots(self) -> int:
        return self.shots or self.limits.fallback_shots

    def counts(self, shots: int) -> int:
        return counts_bytes(shots, max(self.spec.num_clbits, self.n))

    def statevector_peak(self, *, save: bool, shots: int) -> int:
        peak = statevector_peak(
            self.n,
            precision=self.precision,
            save_state=save,
            save_before_measure=save and shots > 0,
        )
        return peak + self.counts(shots)

    def fits_state(self, needed: int) -> bool:
        return needed <= self.capacity.state

    def fits_host(self, needed: int) -> bool:
        return needed <= self.capacity.host

    # --- circuits without mid-circuit measurement -------------------------------------------

    def static(self) -> MethodChoice:
        shots = self.shots
        if self.clifford and not self.gpu_only and not self.small_state_wanted():
            return self.stabilizer(shots)
        needed = self.statevector_peak(save=self.state_wanted or shots == 0, shots=shots)
        if self.fits_state(needed):
            faster = self.faster_as_mps(needed)
            if faster is not None:
                return faster
            return MethodChoice(
                method="statevector",
                engine="aer",
                statevector=self.state_wanted,
                exact=True,
                shots=shots,
                predicted_bytes=needed,
                reasons=("statevector method",),
            )
        if self.explicit_state or self.gpu_only:
            raise self.refusal(needed, what="a statevector")
        return self.mps_or_refuse(needed)

    def small_state_wanted(self) -> bool:
        """A statevector asked for explicitly, or by default (no shots) where it is printed
        whole; otherwise a Clifford circuit needs none and the stabilizer serves it."""
        if self.explicit_state:
            return True
        return (
            self.shots == 0
            and self.state_wanted
            and self.n <= self.limits.statevector_json_max_qubits
        )

    def stabilizer(self, shots: int) -> MethodChoice:
        """Clifford circuits: the exact distribution, or samples, from a tableau."""
        engine: Engine = "stim"

        if to_stim(self.spec) is None or (self.split.dynamic and self.observables):
            engine = "aer"
        why = "Clifford circuit: stabilizer method"
        if self.state_wanted and not self.explicit_state and shots == 0:
            needed = self.statevector_peak(save=True, shots=0)
            why += f" (a {self.n}-qubit statevector would need {format_bytes(needed)})"
        exact = shots > 0 or (engine == "stim" and not self.split.dynamic)
        reasons = [
            why,
            "engine stim" if engine == "stim" else "engine Aer (stim cannot branch on this)",
        ]
        if shots == 0 and not exact:
            shots = self.sampled_shots()
            reasons.append(
                f"no exact distribution from this engine: {shots} samples drawn "
                "(setting quantum.fallback_shots)"
            )
        measured = max(self.spec.num_clbits, self.n)
        needed = (
            state_bytes(self.n, method="stabilizer")
            + sample_bytes(shots, measured, measured)
            + self.counts(shots)
            + RUN_OVERHEAD_BYTES
        )
        return MethodChoice(
            method="stabilizer",
            engine=engine,
            statevector=False,
            exact=exact,
            shots=shots,
            predicted_bytes=needed,
            reasons=tuple(reasons),
        )

    def faster_as_mps(self, statevector_needed: int) -> MethodChoice | None:
        """Counts of a low-entanglement circuit come faster from a matrix product state.

        Only where nothing needs the statevector (shots, no state asked for) and no GPU would
        run it: estimated times from measured rates (``statevector_seconds``, ``mps_seconds``),
        and the MPS side is an upper bound, so it is chosen only when clearly ahead.
        """
        if (
            self.shots == 0
            or self.state_wanted
            or self.capacity.gpu
            or self.n < MPS_CONSIDERED_FROM
        ):
            return None
        bound = mps_bound(self.spec, precision=self.precision)
        mps = mps_seconds(self.spec, bound, self.shots)
        statevector = statevector_seconds(self.spec)
        if mps * 2 > statevector or not self.fits_host(mps_peak(bound) + self.counts(self.shots)):
            return None
        choice = self.mps_or_refuse(statevector_needed)
        why = (
            f"matrix product state: low entanglement (bond dimension at most {bound.max_bond}), "
            f"estimated {mps:.2g} s against {statevector:.2g} s as a statevector"
        )
        return _with(choice, reasons=(why,))

    def mps_or_refuse(self, statevector_needed: int) -> MethodChoice:
        bound = mps_bound(self.spec, precision=self.precision)
        shots = self.sampled_shots()
        needed = mps_peak(bound) + self.counts(shots)
        if not self.fits_host(needed):
            raise self.refusal(statevector_needed, what="a statevector")
        reasons = [
            f"matrix product state: a {self.n}-qubit statevector would need "
            f"{format_bytes(statevector_needed)}; bond dimension at most {bound.max_bond} "
            f"(cut {bound.cut}|{bound.cut + 1}), {format_bytes(needed)} at most",
        ]
        if self.shots == 0:
            reasons.append(
                f"too many qubits to list every outcome: {shots} samples drawn "
                "(setting quantum.fallback_shots)"
            )
        return MethodChoice(
            method="matrix_product_state",
            engine="aer",
            statevector=False,
            exact=self.shots > 0,
            shots=shots,
            predicted_bytes=needed,
            reasons=tuple(reasons),
            mps_max_bond=bound.max_bond,
        )

    # --- circuits that measure, reset or branch before their end ----------------------------

    def dynamic(self, *, allow_branches: bool) -> MethodChoice:
        branches = self.branches() if allow_branches and not self.sampling_is_cheaper() else None
        if branches is not None:
            return branches
        shots = self.sampled_shots()
        note = (
            ()
            if self.shots
            else (
                f"measures or resets mid-circuit and its branches exceed the memory for exact "
                f"answers: {shots} samples drawn (setting quantum.fallback_shots)",
            )
        )
        exact = self.shots > 0 and not self.observables
        if self.clifford and not self.gpu_only:
            choice = self.stabilizer(shots)
            return _with(choice, exact=exact, reasons=(*note, *choice.reasons))
        needed = self.statevector_peak(save=False, shots=shots)
        if self.fits_state(needed):
            return MethodChoice(
                method="statevector",
                engine="aer",
                statevector=False,
                exact=exact,
                shots=shots,
                predicted_bytes=needed,
                reasons=(*note, "statevector method, one run per shot (mid-circuit measurement)"),
            )
        choice = self.mps_or_refuse(needed)
        return _with(choice, exact=exact, reasons=(*note, *choice.reasons))

    def sampling_is_cheaper(self) -> bool:
        """With shots asked for and nothing exact needed, one run per shot beats following up
        to 2^m branches (m mid-circuit measurements) once those outnumber the shots."""
        if self.shots == 0 or self.observables or self.explicit_state:
            return False
        measured = sum(1 for op in walk(self.split.body) if op.name == "measure")
        return bool(2**measured > self.shots / 8)

    def branches(self) -> MethodChoice | None:
        """Exact answers by following every branch, when one state fits the budget."""
        budget = self.branch_budget()
        if 2**self.n > budget or self.gpu_only:
            return None
        return MethodChoice(
            method="statevector",
            engine="branches",
            statevector=self.explicit_state,
            exact=True,
            shots=self.shots,
            predicted_bytes=16 * budget + self.counts(self.shots),
            reasons=(
                "measures, resets or branches mid-circuit: every branch followed with its own "
                "statevector, so the distribution of the classical bits is exact",
            ),
        )

    def branch_budget(self) -> int:
        """Amplitudes all branches may hold together."""
        return min(self.limits.max_branch_amplitudes, max(self.capacity.host, 0) // 32)

    # --- a method the caller named -----------------------------------------------------------

    def requested(self, method: Method, *, allow_branches: bool) -> MethodChoice:
        why = f"method {method} as requested"
        if method == "stabilizer":
            self.check_stabilizer()
            choice = self.stabilizer(self.shots)
            return _with(choice, reasons=(why, *choice.reasons[1:]))
        if self.split.dynamic:
            return self.requested_dynamic(method, why, allow_branches=allow_branches)
        if method == "statevector":
            needed = self.statevector_peak(
                save=self.state_wanted or self.shots == 0, shots=self.shots
            )
            if not self.fits_state(needed):
                raise self.refusal(needed, what="a statevector")
            return MethodChoice(
                method=method,
                engine="aer",
                statevector=self.state_wanted,
                exact=True,
                shots=self.shots,
                predicted_bytes=needed,
                reasons=(why,),
            )
        if method == "density_matrix":
            needed = density_matrix_peak(self.n, precision=self.precision) + self.counts(self.shots)
            if not self.fits_state(needed):
                raise self.refusal(needed, what="a density matrix")
            if self.explicit_state:
                raise InvalidInputError(
                    "method density_matrix gives no statevector; it reports probabilities "
                    "(use statevector or matrix_product_state for amplitudes)",
                    field="statevector",
                )
            return MethodChoice(
                method=method,
                engine="aer",
                statevector=False,
                exact=True,
                shots=self.shots,
                predicted_bytes=needed,
                reasons=(why, "probabilities from the density matrix's diagonal"),
            )
        return self.requested_mps(why)

    def requested_mps(self, why: str) -> MethodChoice:
        bound = mps_bound(self.spec, precision=self.precision)
        small = self.n <= self.limits.statevector_json_max_qubits
        shots = self.shots if (self.shots or small) else self.sampled_shots()
        needed = mps_peak(bound) + self.counts(shots)
        reasons = [why]
        cap = None
        if not self.fits_host(needed):
            cap = max(1, int((self.capacity.host / (64 * self.n)) ** 0.5))
            needed = self.capacity.host
            reasons.append(
                f"bond dimension capped at {cap} to fit memory (bound {bound.max_bond}); "
                "the run fails rather than answer approximately if the cap is reached"
            )
        if shots != self.shots:
            reasons.append(
                f"too many qubits to list every outcome: {shots} samples drawn "
                "(setting quantum.fallback_shots)"
            )
        return MethodChoice(
            method="matrix_product_state",
            engine="aer",
            statevector=self.state_wanted and small,
            exact=True,
            shots=shots,
            predicted_bytes=needed,
            reasons=tuple(reasons),
            mps_max_bond=cap,
        )

    def requested_dynamic(self, method: Method, why: str, *, allow_branches: bool) -> MethodChoice:
        if method == "statevector" and allow_branches:
            branches = self.branches()
            if branches is not None:
                return _with(branches, reasons=(why, *branches.reasons))
        shots = self.sampled_shots()
        reasons = [why, "one run per shot (mid-circuit measurement)"]
        if not self.shots:
            reasons.append(f"{shots} samples drawn (setting quantum.fallback_shots)")
        if method == "statevector":
            needed = self.statevector_peak(save=False, shots=shots)
        elif method == "density_matrix":
            needed = density_matrix_peak(self.n, precision=self.precision) + self.counts(shots)
        else:
            needed = mps_peak(mps_bound(self.spec, precision=self.precision)) + self.counts(shots)
        if not (
            self.fits_host(needed) if method == "matrix_product_state" else self.fits_state(needed)
        ):
            raise self.refusal(needed, what=f"a {method.replace('_', ' ')}")
        return MethodChoice(
            method=method,
            engine="aer",
            statevector=False,
            exact=self.shots > 0 and not self.observables,
            shots=shots,
            predicted_bytes=needed,
            reasons=tuple(reasons),
        )

    def check_stabilizer(self) -> None:
        if not self.clifford:
            other = sorted(
                {
                    op.name
                    for op in walk(self.spec.operations)
                    if op.name in GATES and not GATES[op.name].clifford
                }
            )
            raise CircuitValidationError(
                f"method stabilizer needs a Clifford circuit; non-Clifford gates: "
                f"{', '.join(other)} (use statevector or matrix_product_state)",
                field="method",
            )
        if self.explicit_state:
            raise InvalidInputError(
                "method stabilizer gives no statevector; use statevector or "
                "matrix_product_state, or ask for shots/observables only",
                field="statevector",
            )

    # --- refusals ------------------------------------------------------------------------

    def refusal(self, needed: int, *, what: str) -> InsufficientMemoryError:
        """No method fits: name the figures and what would work."""
        ways: list[str] = []
        if self.clifford:
            ways.append("the stabilizer (method stabilizer) runs this Clifford circuit at any size")
        bound = mps_bound(self.spec, precision=self.precision)
        mps_needed = mps_peak(bound)
        if self.fits_host(mps_needed):
            ways.append(
                f"method matrix_product_state needs at most {format_bytes(mps_needed)} "
                f"(bond dimension at most {bound.max_bond})"
            )
        else:
            ways.append(
                f"a matrix product state could need up to {format_bytes(mps_needed)} "
                f"(bond dimension up to {bound.max_bond} at cut {bound.cut}|{bound.cut + 1}); "
                "--method matrix_product_state tries with the bond dimension memory allows"
            )
        if self.explicit_state:
            ways.append("without --statevector, shots or observables need no statevector")
        if self.precision == "double" and what == "a statevector":
            ways.append(
                f"single precision needs {format_bytes(statevector_peak(self.n, precision='single', save_state=False, save_before_measure=False))} without a saved state"
            )
        if "matrix product" in what:
            usable, where = self.capacity.host, "the host"
        else:
            usable, where = self.capacity.state, self.capacity.state_where
        return InsufficientMemoryError(
            f"a {self.n}-qubit circuit as {what} needs {format_bytes(needed)} at its peak "
            f"but {format_bytes(usable)} is usable on {where}; what would work: "
            f"{'; '.join(ways)}",
            field="circuit",
        )


def _with(choice: MethodChoice, **changes: Any) -> MethodChoice:
    return replace(choice, **changes)
