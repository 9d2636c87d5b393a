"""Exact outcome distributions of circuits with measurements, from ``qiskit.quantum_info`` only.

The deferred-measurement principle turns every mid-circuit measurement, reset and classically
controlled block into unitary gates on extra qubits, so a single ``Statevector`` gives the exact
joint distribution of the classical bits. Nothing here samples or walks measurement branches, which
keeps it independent of the simulators it is used to check.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import (
    ClassicalRegister,
    Clbit,
    ControlFlowOp,
    Gate,
    IfElseOp,
    Instruction,
    Qubit,
)
from qiskit.circuit.classical import expr, types
from qiskit.circuit.library import CXGate, SwapGate, UnitaryGate
from qiskit.quantum_info import Operator, Statevector

MAX_QUBITS = 22
"""Largest enlarged circuit (original qubits plus ancillas) that is simulated."""

CUTOFF = 1e-12
"""Probabilities below this are dropped from returned distributions."""

_X = np.array([[0, 1], [1, 0]], dtype=complex)
_SWAP = Operator(SwapGate()).data
_IGNORED = frozenset({"barrier", "delay"})

Controls = tuple[tuple[int, int], ...]
"""(qubit of the enlarged circuit, required value) pairs that must all hold for an operation."""


def final_measurements(qc: QuantumCircuit) -> tuple[QuantumCircuit, list[tuple[int, int]]]:
    """Split off the measurements after which nothing touches their qubit or clbit.

    Barriers do not count as touching; a clbit read by a later condition does. Returns the circuit
    without those measurements (same qubits and clbits) and their (qubit, clbit) index pairs in
    circuit order.
    """
    touched_qubits: set[int] = set()
    touched_clbits: set[int] = set()
    final: set[int] = set()
    for position in range(len(qc.data) - 1, -1, -1):
        instruction = qc.data[position]
        operation = instruction.operation
        if operation.name == "barrier":
            continue
        qubits = {qc.find_bit(bit).index for bit in instruction.qubits}
        clbits = {qc.find_bit(bit).index for bit in instruction.clbits}
        clbits |= {qc.find_bit(bit).index for bit in _condition_bits(operation)}
        if (
            operation.name == "measure"
            and qubits.isdisjoint(touched_qubits)
            and clbits.isdisjoint(touched_clbits)
        ):
            final.add(position)
        touched_qubits |= qubits
        touched_clbits |= clbits
    remaining = qc.copy_empty_like()
    pairs: list[tuple[int, int]] = []
    for position, instruction in enumerate(qc.data):
        if position in final:
            pairs.append(
                (qc.find_bit(instruction.qubits[0]).index, qc.find_bit(instruction.clbits[0]).index)
            )
        else:
            remaining.append(instruction.operation, instruction.qubits, instruction.clbits)
    return remaining, pairs


def is_dynamic(qc: QuantumCircuit) -> bool:
    """Whether anything but gates and barriers is left once final measurements are removed."""
    remaining, _ = final_measurements(qc)
    return any(
        not isinstance(instruction.operation, Gate) and instruction.operation.name not in _IGNORED
        for instruction in remaining.data
    )


def state_probabilities(qc: QuantumCircuit) -> dict[str, float]:
    """Probabilities of the qubits just before the final measurements of a non-dynamic circuit.

    Keys are bitstrings over all qubits, qubit 0 rightmost, as ``Statevector.probabilities_dict``.
    """
    if is_dynamic(qc):
        raise ValueError(
            "state_probabilities needs a circuit whose only measurements are final; "
            "use clbit_distribution for mid-circuit measurements, resets and conditions"
        )
    unitary = QuantumCircuit(qc.num_qubits, global_phase=qc.global_phase)
    for instruction in qc.data:
        if isinstance(instruction.operation, Gate):
            unitary.append(
                instruction.operation, [qc.find_bit(bit).index for bit in instruction.qubits]
            )
    probabilities = Statevector(unitary).probabilities_dict()
    return {str(key): float(value) for key, value in probabilities.items() if value >= CUTOFF}


def clbit_distribution(qc: QuantumCircuit, *, defer_all: bool = False) -> dict[str, float]:
    """Exact distribution of all classical bits at the end of ``qc``.

    Keys are bitstrings over every clbit of the circuit, clbit 0 rightmost; a clbit never written
    reads 0. Final measurements are read from their qubits at the end; ``defer_all`` turns them
    into ancilla copies as well, which checks the deferral machinery at the cost of one qubit each.
    Raises ``ValueError`` for unsupported instructions or when the enlarged circuit would need more
    than ``MAX_QUBITS`` qubits.
    """
    body, finals = (qc, []) if defer_all else final_measurements(qc)
    deferred = _Deferred(qc.num_qubits, qc.num_clbits)
    deferred.run(
        body,
        {bit: index for index, bit in enumerate(qc.qubits)},
        {bit: index for index, bit in enumerate(qc.clbits)},
        (),
    )
    for qubit, clbit in finals:
        deferred.record[clbit] = qubit
    return deferred.distribution()


def total_variation(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Total-variation distance between two distributions given as outcome -> probability."""
    keys = set(p) | set(q)
    return 0.5 * sum(abs(p.get(key, 0.0) - q.get(key, 0.0)) for key in keys)


def sampled_tv_bound(num_outcomes: int, shots: int, confidence: float = 1e-6) -> float:
    """Distance that the empirical distribution of ``shots`` samples exceeds with probability at
    most ``confidence`` (Bretagnolle–Huber–Carol: P(TV >= eps) <= 2^K exp(-2 N eps^2))."""
    if num_outcomes < 1 or shots < 1 or not 0 < confidence < 1:
        raise ValueError("need num_outcomes >= 1, shots >= 1 and 0 < confidence < 1")
    return math.sqrt((num_outcomes * math.log(2) + math.log(1 / confidence)) / (2 * shots))


class _Deferred:
    """Builds the enlarged, measurement-free circuit and tracks which qubit holds each clbit."""

    def __init__(self, num_qubits: int, num_clbits: int) -> None:
        if num_qubits > MAX_QUBITS:
            raise ValueError(f"circuit has {num_qubits} qubits, more than {MAX_QUBITS}")
        self.num_qubits = num_qubits
        self.operations: list[tuple[Instruction, list[int]]] = []
        self.record: list[int | None] = [None] * num_clbits

    def fresh(self, purpose: str) -> int:
        """A new ancilla in |0>."""
        if self.num_qubits >= MAX_QUBITS:
            raise ValueError(
                f"the deferred-measurement circuit would exceed {MAX_QUBITS} qubits: it needs one "
                f"ancilla per mid-circuit measurement, reset and multi-bit condition (ran out at "
                f"a {purpose})"
            )
        self.num_qubits += 1
        return self.num_qubits - 1

    def run(
        self,
        circuit: QuantumCircuit,
        qubits: Mapping[Qubit, int],
        clbits: Mapping[Clbit, int],
        controls: Controls,
    ) -> None:
        """Append the deferred form of ``circuit``, all of it conditioned on ``controls``."""
        if controls and circuit.global_phase:
            phase = np.array([[np.exp(1j * float(circuit.global_phase))]])
            self.apply(phase, [], controls)
        for instruction in circuit.data:
            operation = instruction.operation
            targets = [qubits[bit] for bit in instruction.qubits]
            bits = [clbits[bit] for bit in instruction.clbits]
            if operation.name in _IGNORED:
                continue
            if operation.name == "measure":
                self.measure(targets[0], bits[0], controls)
            elif operation.name == "reset":
                self.reset(targets[0], controls)
            elif isinstance(operation, IfElseOp):
                self.if_else(
                    operation, instruction.qubits, instruction.clbits, qubits, clbits, controls
                )
            elif isinstance(operation, ControlFlowOp):
                raise ValueError(f"control flow {operation.name!r} is not supported")
            elif isinstance(operation, Gate):
                if controls:
                    self.apply(Operator(operation).data, targets, controls)
                else:
                    self.operations.append((operation, targets))
            elif operation.definition is not None:
                definition = operation.definition
                self.run(
                    definition,
                    dict(zip(definition.qubits, targets, strict=True)),
                    dict(zip(definition.clbits, bits, strict=True)),
                    controls,
                )
            else:
                raise ValueError(f"instruction {operation.name!r} has no definition to simulate")

    def apply(self, matrix: np.ndarray, targets: list[int], controls: Controls) -> None:
        """Append ``matrix`` on ``targets``, acting only where every control has its value."""
        if not controls:
            self.operations.append((UnitaryGate(matrix, check_input=False), targets))
            return
        required: dict[int, int] = {}
        for qubit, value in controls:
            if required.setdefault(qubit, value) != value:
                return  # contradictory controls: the operation can never act
        controls = tuple(required.items())
        pattern = sum(value << index for index, (_, value) in enumerate(controls))
        projector = np.zeros((2 ** len(controls), 2 ** len(controls)))
        projector[pattern, pattern] = 1.0
        identity = np.eye(matrix.shape[0])
        full = np.kron(matrix, projector) + np.kron(identity, np.eye(len(projector)) - projector)
        qubits = [qubit for qubit, _ in controls] + targets
        self.operations.append((UnitaryGate(full, check_input=False), qubits))

    def measure(self, qubit: int, clbit: int, controls: Controls) -> None:
        """Copy the qubit into a fresh record: new = controls ? qubit : old."""
        new = self.fresh("measurement")
        old = self.record[clbit]
        if not controls:
            self.operations.append((CXGate(), [qubit, new]))
        else:
            if old is not None:
                self.operations.append((CXGate(), [old, new]))
                self.apply(_X, [new], (*controls, (old, 1)))
            self.apply(_X, [new], (*controls, (qubit, 1)))
        self.record[clbit] = new

    def reset(self, qubit: int, controls: Controls) -> None:
        """Swap the qubit's state out into a fresh |0> ancilla that is never used again."""
        spare = self.fresh("reset")
        if controls:
            self.apply(_SWAP, [qubit, spare], controls)
        else:
            self.operations.append((SwapGate(), [qubit, spare]))

    def if_else(
        self,
        operation: IfElseOp,
        outer_qubits: Iterable[Qubit],
        outer_clbits: Iterable[Clbit],
        qubits: Mapping[Qubit, int],
        clbits: Mapping[Clbit, int],
        controls: Controls,
    ) -> None:
        """Evaluate the condition now into controls, then run each block under its controls."""
        bits, predicate = _predicate(operation.condition, clbits)
        when_true, when_false = self.condition_controls(bits, predicate)
        outer_qubits, outer_clbits = list(outer_qubits), list(outer_clbits)
        for block, extra in zip(operation.blocks, (when_true, when_false), strict=False):
            if extra is None:
                continue
            self.run(
                block,
                {
                    inner: qubits[outer]
                    for inner, outer in zip(block.qubits, outer_qubits, strict=True)
                },
                {
                    inner: clbits[outer]
                    for inner, outer in zip(block.clbits, outer_clbits, strict=True)
                },
                controls + extra,
            )

    def condition_controls(
        self, bits: list[int], predicate: Callable[[Mapping[int, int]], bool]
    ) -> tuple[Controls | None, Controls | None]:
        """Controls under which the condition holds and fails (``None``: never)."""
        constant = {bit: 0 for bit in bits if self.record[bit] is None}
        unknown = sorted({bit for bit in bits if self.record[bit] is not None})
        satisfying = [
            assignment
            for assignment in range(2 ** len(unknown))
            if predicate(constant | {bit: (assignment >> i) & 1 for i, bit in enumerate(unknown)})
        ]
        if not satisfying:
            return None, ()
        if len(satisfying) == 2 ** len(unknown):
            return (), None
        records = [self.record[bit] for bit in unknown]
        if len(unknown) == 1:
            (record,), value = records, satisfying[0]
            return ((record, value),), ((record, 1 - value),)
        flag = self.fresh("condition")
        for assignment in satisfying:
            pattern = tuple((record, (assignment >> i) & 1) for i, record in enumerate(records))
            self.apply(_X, [flag], pattern)
        return ((flag, 1),), ((flag, 0),)

    def distribution(self) -> dict[str, float]:
        """Simulate the enlarged circuit and marginalise onto the final clbit records."""
        circuit = QuantumCircuit(self.num_qubits)
        for operation, qubits in self.operations:
            circuit.append(operation, qubits)
        held = [(clbit, record) for clbit, record in enumerate(self.record) if record is not None]
        state = Statevector(circuit)
        if held:
            probabilities = state.probabilities(qargs=[record for _, record in held])
        else:
            probabilities = np.array([1.0])
        outcomes = np.arange(len(probabilities))
        keys = np.zeros(len(probabilities), dtype=np.int64)
        for position, (clbit, _) in enumerate(held):
            keys |= ((outcomes >> position) & 1) << clbit
        width = len(self.record)
        return {
            format(int(key), f"0{width}b") if width else "": float(probability)
            for key, probability in zip(keys, probabilities, strict=True)
            if probability >= CUTOFF
        }


def _condition_bits(operation: Instruction) -> list[Clbit]:
    """Clbits read by a control-flow condition (none for other instructions)."""
    condition = getattr(operation, "condition", None)
    if condition is None:
        return []
    if isinstance(condition, tuple):
        target = condition[0]
        return list(target) if isinstance(target, ClassicalRegister) else [target]
    return _expr_bits(condition, strict=False)


def _expr_bits(condition: expr.Expr, *, strict: bool) -> list[Clbit]:
    """Clbits an expression reads; with ``strict``, other variables are an error."""
    bits: list[Clbit] = []
    for var in expr.iter_vars(condition):
        if isinstance(var.var, ClassicalRegister):
            bits.extend(var.var)
        elif isinstance(var.var, Clbit):
            bits.append(var.var)
        elif strict:
            raise ValueError(f"conditions on classical variable {var.var!r} are not supported")
    return bits


def _predicate(
    condition: object, clbits: Mapping[Clbit, int]
) -> tuple[list[int], Callable[[Mapping[int, int]], bool]]:
    """The clbits a condition reads and a function deciding it from their values."""
    if isinstance(condition, tuple):
        target, value = condition
        if isinstance(target, ClassicalRegister):
            bits = [clbits[bit] for bit in target]
            return bits, lambda values: _register_value(bits, values) == int(value)
        bit = clbits[target]
        return [bit], lambda values: values[bit] == int(value)
    if isinstance(condition, expr.Expr):
        bits = [clbits[bit] for bit in _expr_bits(condition, strict=True)]
        return bits, lambda values: bool(_evaluate(condition, values, clbits))
    raise ValueError(f"unsupported condition {condition!r}")


def _register_value(bits: list[int], values: Mapping[int, int]) -> int:
    return sum(values[bit] << index for index, bit in enumerate(bits))


def _evaluate(node: expr.Expr, values: Mapping[int, int], clbits: Mapping[Clbit, int]) -> int:
    """Value of a classical expression over clbits and registers (booleans as 0/1)."""
    if isinstance(node, expr.Var):
        if isinstance(node.var, Clbit):
            return values[clbits[node.var]]
        return _register_value([clbits[bit] for bit in node.var], values)
    if isinstance(node, expr.Value):
        return int(node.value)
    if isinstance(node, expr.Cast):
        value = _evaluate(node.operand, values, clbits)
        return int(bool(value)) if isinstance(node.type, types.Bool) else value
    if isinstance(node, expr.Index):
        return (_evaluate(node.target, values, clbits) >> _evaluate(node.index, values, clbits)) & 1
    if isinstance(node, expr.Unary):
        value = _evaluate(node.operand, values, clbits)
        if node.op is expr.Unary.Op.LOGIC_NOT:
            return int(not value)
        if node.op is expr.Unary.Op.BIT_NOT:
            width = 1 if isinstance(node.type, types.Bool) else node.type.width
            return ~value & ((1 << width) - 1)
    if isinstance(node, expr.Binary) and node.op in _BINARY:
        left = _evaluate(node.left, values, clbits)
        right = _evaluate(node.right, values, clbits)
        return int(_BINARY[node.op](left, right))
    raise ValueError(f"unsupported expression in condition: {node!r}")


_BINARY: dict[expr.Binary.Op, Callable[[int, int], int | bool]] = {
    expr.Binary.Op.BIT_AND: lambda a, b: a & b,
    expr.Binary.Op.BIT_OR: lambda a, b: a | b,
    expr.Binary.Op.BIT_XOR: lambda a, b: a ^ b,
    expr.Binary.Op.LOGIC_AND: lambda a, b: bool(a) and bool(b),
    expr.Binary.Op.LOGIC_OR: lambda a, b: bool(a) or bool(b),
    expr.Binary.Op.EQUAL: lambda a, b: a == b,
    expr.Binary.Op.NOT_EQUAL: lambda a, b: a != b,
    expr.Binary.Op.LESS: lambda a, b: a < b,
    expr.Binary.Op.LESS_EQUAL: lambda a, b: a <= b,
    expr.Binary.Op.GREATER: lambda a, b: a > b,
    expr.Binary.Op.GREATER_EQUAL: lambda a, b: a >= b,
}
