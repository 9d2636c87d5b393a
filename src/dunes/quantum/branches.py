"""Exact answers for circuits that measure, reset or branch before their end.

Such a circuit has no single state: every mid-circuit measurement splits it into branches, one
per outcome, each with the classical register it wrote. This module follows every branch with
its own (unnormalised) statevector, so the distribution of the classical register and the
expectation values come out exact, not sampled; branches that reach the same state with the
same register are merged, so a qubit reset and reused costs nothing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from dunes.errors import CircuitValidationError
from dunes.quantum.circuit import CircuitSpec, MeasurementSplit, Operation
from dunes.quantum.gates import GATES, IF_ELSE
from dunes.quantum.observables import pauli_label

#: Below this weight a branch is dropped: far under the 1e-9 the answers are held to.
NEGLIGIBLE = 1e-16


class TooManyBranches(Exception):
    """The branches would take more memory than allowed; the caller samples instead."""


@dataclass
class Branch:
    state: np.ndarray  # unnormalised: its squared norm is the branch's probability
    register: int  # classical bits, clbit c as bit c

    @property
    def weight(self) -> float:
        return float(np.vdot(self.state, self.state).real)

    def normalised(self) -> np.ndarray:
        normalised: np.ndarray = self.state / np.sqrt(self.weight)
        return normalised


@dataclass(frozen=True)
class BranchOutcome:
    """What following every branch gives."""

    distribution: dict[str, float]  # classical register at the end, clbit 0 rightmost
    expectation_values: dict[str, float]  # before the final measurements
    branches: list[Branch]  # before the final measurements

    def pick(self, seed: int) -> Branch:
        """One branch drawn with its probability."""
        weights = np.array([b.weight for b in self.branches])
        chosen = np.random.default_rng(seed).choice(len(weights), p=weights / weights.sum())
        return self.branches[int(chosen)]


def follow_branches(
    spec: CircuitSpec,
    split: MeasurementSplit,
    *,
    observables: tuple[str, ...] = (),
    max_amplitudes: int,
) -> BranchOutcome:
    """Follow every branch of ``split.body``, then read the final measurements exactly.

    Raises:
        TooManyBranches: more than ``max_amplitudes`` amplitudes would be held at once.
    """
    n = spec.num_qubits
    if 2**n > max_amplitudes:
        raise TooManyBranches(f"one {n}-qubit state exceeds the budget")
    start = np.zeros(2**n, dtype=np.complex128)
    start[0] = np.exp(1j * spec.global_phase)
    walker = _Walker(n, max_amplitudes)
    branches = walker.block([Branch(start, 0)], split.body)
    expectations = {text: _expectation(branches, pauli_label(text, n)) for text in observables}
    distribution = _final_distribution(branches, split.final, spec.num_clbits)
    return BranchOutcome(distribution, expectations, branches)


class _Walker:
    def __init__(self, num_qubits: int, max_amplitudes: int) -> None:
        self.n = num_qubits
        self.max_branches = max(1, max_amplitudes // 2**num_qubits)

    def block(self, branches: list[Branch], ops: tuple[Operation, ...]) -> list[Branch]:
        for op in ops:
            if not branches:
                return branches
            branches = self.apply(branches, op)
        return branches

    def apply(self, branches: list[Branch], op: Operation) -> list[Branch]:
        if op.name == "barrier":
            return branches
        if op.name == IF_ELSE and op.condition is not None:
            condition = op.condition
            taken = [b for b in branches if condition.holds(b.register)]
            others = [b for b in branches if not condition.holds(b.register)]
            return self.block(taken, op.body) + self.block(others, op.orelse)
        if op.name in ("measure", "reset"):
            out: list[Branch] = []
            for branch in branches:
                out += self.collapse(branch, op)
            return self.merged(out)
        matrix = gate_matrix(op.name, op.params)
        for branch in branches:
            branch.state = _apply(branch.state, matrix, op.qubits, self.n)
        return branches

    def collapse(self, branch: Branch, op: Operation) -> list[Branch]:
        current = [branch]
        for position, qubit in enumerate(op.qubits):
            following: list[Branch] = []
            for item in current:
                for outcome, part in _project(item.state, qubit, self.n):
                    if op.name == "reset":
                        if outcome:
                            part = _flip(part, qubit, self.n)
                        following.append(Branch(part, item.register))
                    else:
                        clbit = op.clbits[position]
                        register = (item.register & ~(1 << clbit)) | (outcome << clbit)
                        following.append(Branch(part, register))
            current = following
        return current

    def merged(self, branches: list[Branch]) -> list[Branch]:
        """Join branches with the same register whose states are parallel (a pure mixture)."""
        kept: list[Branch] = []
        for branch in branches:
            weight = branch.weight
            for other in kept:
                if other.register != branch.register:
                    continue
                other_weight = other.weight
                overlap = abs(np.vdot(other.state, branch.state)) ** 2
                if abs(overlap - weight * other_weight) <= 1e-13 * weight * other_weight:
                    other.state = other.state * np.sqrt((weight + other_weight) / other_weight)
                    break
            else:
                kept.append(branch)
        if len(kept) > self.max_branches:
            raise TooManyBranches(f"{len(kept)} branches of {self.n} qubits exceed the budget")
        return kept


@functools.cache
def gate_matrix(name: str, params: tuple[float, ...]) -> np.ndarray:
    """The gate's unitary in Qiskit's order (qubit 0 least significant)."""
    from qiskit.quantum_info import Operator

    if name not in GATES:
        raise CircuitValidationError(f"{name!r} is not a gate", field="circuit")
    width = GATES[name].num_qubits
    spec = CircuitSpec(
        num_qubits=width,
        operations=(Operation(name=name, qubits=tuple(range(width)), params=params),),
    )
    matrix: np.ndarray = Operator(spec.to_qiskit()).data
    return matrix


def _apply(state: np.ndarray, matrix: np.ndarray, qubits: tuple[int, ...], n: int) -> np.ndarray:
    k = len(qubits)
    tensor = state.reshape((2,) * n)
    # Axis a of the tensor is qubit n-1-a; the matrix's first index axis is its top qubit.
    axes = [n - 1 - q for q in reversed(qubits)]
    gate = matrix.reshape((2,) * (2 * k))
    moved = np.tensordot(gate, tensor, axes=(list(range(k, 2 * k)), axes))
    return np.moveaxis(moved, list(range(k)), axes).reshape(-1)


def _project(state: np.ndarray, qubit: int, n: int) -> list[tuple[int, np.ndarray]]:
    tensor = state.reshape((2,) * n)
    axis = n - 1 - qubit
    parts = []
    for outcome in (0, 1):
        part = np.zeros_like(tensor)
        index: list[slice | int] = [slice(None)] * n
        index[axis] = outcome
        part[tuple(index)] = tensor[tuple(index)]
        flat = part.reshape(-1)
        if float(np.vdot(flat, flat).real) > NEGLIGIBLE:
            parts.append((outcome, flat))
    return parts


def _flip(state: np.ndarray, qubit: int, n: int) -> np.ndarray:
    return np.flip(state.reshape((2,) * n), axis=n - 1 - qubit).reshape(-1)


def _expectation(branches: list[Branch], label: str) -> float:
    n = len(label)
    x_mask = z_mask = 0
    y_count = 0
    for position, letter in enumerate(reversed(label)):
        if letter in "XY":
            x_mask |= 1 << position
        if letter in "ZY":
            z_mask |= 1 << position
        y_count += letter == "Y"
    index = np.arange(2**n, dtype=np.uint64)
    source = index ^ np.uint64(x_mask)
    signs = 1 - 2 * (np.bitwise_count(source & np.uint64(z_mask)) & 1).astype(np.int8)
    phase = 1j**y_count
    total = 0.0
    for branch in branches:
        applied = phase * signs * branch.state[source]
        total += float(np.vdot(branch.state, applied).real)
    return total


def _final_distribution(
    branches: list[Branch], final: tuple[tuple[int, int], ...], num_clbits: int
) -> dict[str, float]:
    clear = 0
    for _, clbit in final:
        clear |= 1 << clbit
    registers: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for branch in branches:
        probabilities = np.abs(branch.state) ** 2
        nonzero = np.flatnonzero(probabilities > NEGLIGIBLE)
        # Python integers: a register may be wider than 64 bits.
        register = np.full(nonzero.size, branch.register & ~clear, dtype=object)
        for qubit, clbit in final:
            bit = ((nonzero >> qubit) & 1).astype(object)
            register = register | (bit << clbit)
        registers.append(register)
        weights.append(probabilities[nonzero])
    merged: dict[int, float] = {}
    for register_array, weight_array in zip(registers, weights, strict=True):
        for register, weight in zip(register_array.tolist(), weight_array.tolist(), strict=True):
            merged[register] = merged.get(register, 0.0) + weight
    width = max(num_clbits, 1)
    return {
        format(register, f"0{width}b"): value
        for register, value in sorted(merged.items())
        if value > NEGLIGIBLE
    }
