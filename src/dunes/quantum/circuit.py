"""``CircuitSpec``: the one representation of a circuit inside dunes.

A circuit is a list of operations: gates, the directives ``measure``, ``reset`` and ``barrier``,
and ``if_else``, which runs its ``body`` when classical bits hold a value and its ``orelse``
otherwise (OpenQASM 2 ``if(c==1) x q[0];``, OpenQASM 3 ``if (...) { } else { }``, Qiskit's
``if_test``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dunes.errors import CircuitValidationError
from dunes.quantum.gates import DIRECTIVES, GATES, IF_ELSE, signature, suggest

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

#: Widest circuit dunes represents at all; what each simulation method reaches is decided by
#: memory (see ``dunes.quantum.memory``), not by this bound.
MAX_CIRCUIT_QUBITS = 65_536


class Condition(BaseModel):
    """Classical bits read as an unsigned integer (``clbits[0]`` is bit 0) equal to ``value``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clbits: tuple[int, ...] = Field(min_length=1)
    value: int = Field(ge=0)

    def holds(self, register: int) -> bool:
        """Whether the condition is true when the classical register holds ``register``."""
        read = 0
        for position, clbit in enumerate(self.clbits):
            read |= ((register >> clbit) & 1) << position
        return read == self.value

    def to_seed(self, num_clbits: int) -> str:
        """``c==3`` (every bit), ``c[2]==1`` (one bit), ``c[0:2]==3`` (a range), ``c[0,3]==2``."""
        bits = self.clbits
        if bits == tuple(range(num_clbits)):
            target = "c"
        elif len(bits) == 1:
            target = f"c[{bits[0]}]"
        elif bits == tuple(range(bits[0], bits[-1] + 1)):
            target = f"c[{bits[0]}:{bits[-1] + 1}]"
        else:
            target = f"c[{','.join(str(b) for b in bits)}]"
        return f"{target}=={self.value}"


class Operation(BaseModel):
    """One gate or directive applied to qubits (and classical bits for ``measure``).

    An ``if_else`` holds its ``condition``, ``body`` and ``orelse``; its ``qubits`` and
    ``clbits`` are every qubit and classical bit it may touch, so that ordering and depth treat
    it as one block.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    qubits: tuple[int, ...]
    params: tuple[float, ...] = ()
    clbits: tuple[int, ...] = ()
    condition: Condition | None = None
    body: tuple[Operation, ...] = ()
    orelse: tuple[Operation, ...] = ()


def if_else(
    condition: Condition, body: tuple[Operation, ...], orelse: tuple[Operation, ...] = ()
) -> Operation:
    """An ``if_else`` operation whose qubits and clbits cover both blocks and the condition."""
    inner = body + orelse
    qubits = sorted({q for op in inner for q in op.qubits})
    clbits = sorted({*condition.clbits, *(c for op in inner for c in op.clbits)})
    return Operation(
        name=IF_ELSE,
        qubits=tuple(qubits),
        clbits=tuple(clbits),
        condition=condition,
        body=body,
        orelse=orelse,
    )


def walk(ops: tuple[Operation, ...]) -> Iterator[Operation]:
    """Every operation, those inside ``if_else`` blocks included (the ``if_else`` too)."""
    for op in ops:
        yield op
        if op.name == IF_ELSE:
            yield from walk(op.body)
            yield from walk(op.orelse)


@dataclass(frozen=True)
class MeasurementSplit:
    """A circuit cut into the part before its final measurements and those measurements.

    ``final`` pairs (qubit, clbit) in circuit order. ``dynamic`` says that ``body`` still
    measures, resets or branches on classical bits, so it has no single pure state.
    """

    body: tuple[Operation, ...]
    final: tuple[tuple[int, int], ...]
    dynamic: bool


class CircuitSpec(BaseModel):
    """A validated circuit: qubit count, classical bits and operations in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    num_qubits: int = Field(ge=1, le=MAX_CIRCUIT_QUBITS)
    num_clbits: int = Field(0, ge=0)
    operations: tuple[Operation, ...]
    name: str | None = None
    global_phase: float = Field(
        0.0, description="Radians; Qiskit's global phase, so statevectors match it exactly."
    )

    @model_validator(mode="after")
    def _check(self) -> CircuitSpec:
        check_operations(self.operations, self.num_qubits, self.num_clbits)
        return self

    @property
    def gate_count(self) -> int:
        return sum(1 for op in walk(self.operations) if op.name in GATES)

    @property
    def has_measurements(self) -> bool:
        return any(op.name == "measure" for op in walk(self.operations))

    @property
    def has_control_flow(self) -> bool:
        return any(op.name == IF_ELSE for op in self.operations)

    @property
    def is_clifford(self) -> bool:
        return all(op.name not in GATES or GATES[op.name].clifford for op in walk(self.operations))

    @property
    def depth(self) -> int:
        """Circuit depth counting gates, measurements and ``if_else`` blocks (barriers excluded)."""
        level = [0] * self.num_qubits
        for op in self.operations:
            if op.name == "barrier" or not op.qubits:
                continue
            top = max(level[q] for q in op.qubits) + 1
            for q in op.qubits:
                level[q] = top
        return max(level, default=0)

    def split_measurements(self) -> MeasurementSplit:
        """Separate the final measurements, qubit by qubit.

        A measurement is final when no later operation touches its qubit or its classical bit
        (an ``if_else`` touches every bit its condition reads); barriers do not count. This is
        the rule of Qiskit's ``RemoveFinalMeasurements``: the state before the final
        measurements is the circuit's state, and the final measurements only sample it.
        """
        touched_qubits: set[int] = set()
        touched_clbits: set[int] = set()
        body: list[Operation] = []
        final: list[tuple[int, int]] = []
        for op in reversed(self.operations):
            if op.name == "measure":
                kept_qubits: list[int] = []
                kept_clbits: list[int] = []
                pairs = list(zip(op.qubits, op.clbits, strict=True))
                for q, c in reversed(pairs):
                    if q in touched_qubits or c in touched_clbits:
                        kept_qubits.insert(0, q)
                        kept_clbits.insert(0, c)
                    else:
                        final.append((q, c))
                    touched_qubits.add(q)
                    touched_clbits.add(c)
                if kept_qubits:
                    body.append(
                        op.model_copy(
                            update={"qubits": tuple(kept_qubits), "clbits": tuple(kept_clbits)}
                        )
                    )
                continue
            if op.name != "barrier":
                touched_qubits.update(op.qubits)
                touched_clbits.update(op.clbits)
            body.append(op)
        body.reverse()
        final.reverse()
        dynamic = any(op.name in ("measure", "reset", IF_ELSE) for op in body)
        return MeasurementSplit(body=tuple(body), final=tuple(final), dynamic=dynamic)

    @property
    def is_dynamic(self) -> bool:
        """Whether the circuit measures, resets or branches before its final measurements."""
        return self.split_measurements().dynamic

    def canonical_json(self) -> str:
        """A stable encoding: same circuit, same bytes (used for content-addressed ids)."""
        payload: dict[str, Any] = {
            "num_qubits": self.num_qubits,
            "num_clbits": self.num_clbits,
            "operations": [_canonical(op) for op in self.operations],
        }
        if self.global_phase:
            payload["global_phase"] = repr(float(self.global_phase))
        return json.dumps(payload, separators=(",", ":"), sort_keys=True)

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def to_seed(self) -> str:
        """Seed notation, e.g. ``h(0); cx(0,1); rx(1.5707963267948966,0)``."""
        # ``c==v`` names the whole register only where reading the text back gives it the same
        # width (the width seed notation infers from the bits that measurements write).
        written = [c for op in walk(self.operations) if op.name == "measure" for c in op.clbits]
        whole = self.num_clbits if max(written, default=-1) + 1 == self.num_clbits else -1
        parts = _seed_statements(self.operations, self.num_qubits, whole)
        if self.global_phase:
            parts.insert(0, f"gphase({_format_param(self.global_phase)})")
        return "; ".join(parts)

    def to_qiskit(self) -> QuantumCircuit:
        """Build the equivalent Qiskit circuit (one classical register ``c`` of every bit)."""
        from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

        qc = QuantumCircuit(
            QuantumRegister(self.num_qubits, "q"),
            *([ClassicalRegister(self.num_clbits, "c")] if self.num_clbits else []),
            name=self.name or "circuit",
            global_phase=self.global_phase,
        )
        _append_all(qc, self.operations)
        return qc


def _canonical(op: Operation) -> list[Any]:
    head: list[Any] = [
        op.name,
        list(op.qubits),
        [repr(float(p)) for p in op.params],
        list(op.clbits),
    ]
    if op.condition is None:
        return head
    return [
        *head,
        [list(op.condition.clbits), op.condition.value],
        [_canonical(inner) for inner in op.body],
        [_canonical(inner) for inner in op.orelse],
    ]


def _seed_statements(ops: tuple[Operation, ...], num_qubits: int, num_clbits: int) -> list[str]:
    """Statements of ``ops``; ``num_clbits`` is the register ``c`` stands for (-1: none)."""
    parts: list[str] = []
    everything = tuple(range(num_qubits))
    for op in ops:
        if op.name == IF_ELSE and op.condition is not None:
            parts.append(_seed_if(op, op.condition, num_qubits, num_clbits))
        elif (
            op.name in ("measure", "barrier")
            and op.qubits == everything
            and (op.clbits in ((), everything))
        ):
            parts.append(op.name)
        elif op.name == "measure":
            parts += [
                f"measure({q})" if q == c else f"measure({q},{c})"
                for q, c in zip(op.qubits, op.clbits, strict=True)
            ]
        else:
            args = [_format_param(p) for p in op.params] + [str(q) for q in op.qubits]
            parts.append(f"{op.name}({','.join(args)})")
    return parts


def _seed_if(op: Operation, condition: Condition, num_qubits: int, num_clbits: int) -> str:
    def block(inner: tuple[Operation, ...]) -> str:
        statements = _seed_statements(inner, num_qubits, num_clbits)
        return "{ " + "; ".join(statements) + " }" if statements else "{ }"

    test = condition.to_seed(num_clbits)
    if not op.body:
        return f"if({test.replace('==', '!=')}) {block(op.orelse)}"
    head = f"if({test}) "
    single = _seed_statements(op.body, num_qubits, num_clbits)
    if not op.orelse and len(single) == 1 and op.body[0].name != IF_ELSE:
        return head + single[0]
    text = head + block(op.body)
    return text + f" else {block(op.orelse)}" if op.orelse else text


def _format_param(value: float) -> str:
    """``pi/4`` style where that reads back as exactly the same float, else ``repr``."""
    for denominator in (1, 2, 3, 4, 6, 8, 16):
        num = round(value * denominator / math.pi)
        if num == 0 or abs(num) > 64:
            continue
        head = "pi" if num == 1 else "-pi" if num == -1 else f"{num}*pi"
        text = head if denominator == 1 else f"{head}/{denominator}"
        exact = (num * math.pi if abs(num) != 1 else math.copysign(math.pi, num)) / denominator
        if exact == value:
            return text
    return repr(float(value))


def _append_all(qc: QuantumCircuit, ops: tuple[Operation, ...]) -> None:
    for op in ops:
        if op.name == IF_ELSE and op.condition is not None:
            _append_if(qc, op, op.condition)
        else:
            _append(qc, op)


def _append_if(qc: QuantumCircuit, op: Operation, condition: Condition) -> None:
    from qiskit.circuit import ClassicalRegister

    bits = [qc.clbits[c] for c in condition.clbits]
    target: Any
    if len(bits) == 1:
        target = (bits[0], condition.value)
    elif len(qc.cregs) == 1 and list(qc.cregs[0]) == bits:
        target = (qc.cregs[0], condition.value)
    else:
        name = "c_" + "_".join(str(c) for c in condition.clbits)
        register = next((r for r in qc.cregs if r.name == name), None)
        if register is None:
            register = ClassicalRegister(name=name, bits=bits)
            qc.add_register(register)
        target = (register, condition.value)
    with qc.if_test(target) as orelse:
        _append_all(qc, op.body)
    if op.orelse:
        with orelse:
            _append_all(qc, op.orelse)


def _append(qc: QuantumCircuit, op: Operation) -> None:
    q, p = op.qubits, op.params
    match op.name:
        case "measure":
            qc.measure(list(q), list(op.clbits))
        case "barrier":
            qc.barrier(*q)
        case "reset":
            qc.reset(q[0])
        case "u2":
            qc.u(math.pi / 2, p[0], p[1], q[0])
        case "c3x":
            qc.mcx(list(q[:3]), q[3])
        case "cu":
            qc.cu(p[0], p[1], p[2], p[3], q[0], q[1])
        case _:
            getattr(qc, op.name)(*p, *q)


def check_operations(ops: tuple[Operation, ...], num_qubits: int, num_clbits: int) -> None:
    """Raise CircuitValidationError naming the first broken rule."""
    if not any(op.name != "barrier" for op in ops):
        raise CircuitValidationError(
            "empty circuit: give at least one gate, e.g. 'h(0); cx(0,1)'", field="circuit"
        )
    _check_block(ops, num_qubits, num_clbits, prefix="")


def _check_block(
    ops: tuple[Operation, ...], num_qubits: int, num_clbits: int, *, prefix: str
) -> None:
    for position, op in enumerate(ops, start=1):
        where = f"{prefix}operation {position} ({op.name})"
        _check_operation(op, where, num_qubits, num_clbits)
        if op.name == IF_ELSE:
            _check_if_else(op, where, num_qubits, num_clbits)
        elif op.condition is not None or op.body or op.orelse:
            raise CircuitValidationError(
                f"{where}: only if_else carries a condition and blocks", field="circuit"
            )


def _check_operation(op: Operation, where: str, num_qubits: int, num_clbits: int) -> None:
    if op.name not in GATES and op.name not in DIRECTIVES and op.name != IF_ELSE:
        near = suggest(op.name)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise CircuitValidationError(f"{where}: unknown gate {op.name!r}{hint}", field="circuit")
    if op.name in GATES:
        gate = GATES[op.name]
        if len(op.qubits) != gate.num_qubits or len(op.params) != gate.num_params:
            raise CircuitValidationError(
                f"{where}: takes {gate.num_qubits} qubit(s) and {gate.num_params} "
                f"parameter(s), written {signature(gate)}; got {len(op.qubits)} qubit(s) and "
                f"{len(op.params)} parameter(s)",
                field="circuit",
            )
    elif op.name == "measure" and len(op.clbits) != len(op.qubits):
        raise CircuitValidationError(f"{where}: needs one classical bit per qubit")
    for qubit in op.qubits:
        if not 0 <= qubit < num_qubits:
            raise CircuitValidationError(
                f"{where}: qubit index {qubit} out of range for a {num_qubits}-qubit circuit "
                f"(valid: 0..{num_qubits - 1})",
                field="circuit",
            )
    if len(set(op.qubits)) != len(op.qubits):
        raise CircuitValidationError(
            f"{where}: the same qubit appears twice in {list(op.qubits)}", field="circuit"
        )
    for clbit in op.clbits:
        if not 0 <= clbit < num_clbits:
            valid = f"valid: 0..{num_clbits - 1}" if num_clbits else "the circuit has none"
            raise CircuitValidationError(
                f"{where}: classical bit {clbit} out of range ({valid})", field="circuit"
            )
    for value in op.params:
        if not math.isfinite(value):
            raise CircuitValidationError(
                f"{where}: parameter {value} is not a finite number", field="circuit"
            )


def _check_if_else(op: Operation, where: str, num_qubits: int, num_clbits: int) -> None:
    condition = op.condition
    if condition is None:
        raise CircuitValidationError(f"{where}: if_else needs a condition", field="circuit")
    if len(set(condition.clbits)) != len(condition.clbits):
        raise CircuitValidationError(
            f"{where}: the condition reads the same classical bit twice", field="circuit"
        )
    width = len(condition.clbits)
    if condition.value >= 2**width:
        raise CircuitValidationError(
            f"{where}: the condition compares {width} classical bit(s) with {condition.value}; "
            f"{width} bit(s) hold 0..{2**width - 1}",
            field="circuit",
        )
    if not op.body and not op.orelse:
        raise CircuitValidationError(
            f"{where}: both blocks are empty; give the operations to run, e.g. 'if(c[0]==1) x(1)'",
            field="circuit",
        )
    inner = op.body + op.orelse
    needed_qubits = {q for inner_op in inner for q in inner_op.qubits}
    needed_clbits = {*condition.clbits, *(c for inner_op in inner for c in inner_op.clbits)}
    if not needed_qubits <= set(op.qubits) or not needed_clbits <= set(op.clbits):
        raise CircuitValidationError(
            f"{where}: its qubits and classical bits must cover its blocks", field="circuit"
        )
    for label, block in (("then", op.body), ("else", op.orelse)):
        _check_block(block, num_qubits, num_clbits, prefix=f"{where} {label}: ")
