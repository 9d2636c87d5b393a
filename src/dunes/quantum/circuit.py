"""``CircuitSpec``: the one representation of a circuit inside dunes."""

from __future__ import annotations

import hashlib
import json
import math
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dunes.errors import CircuitValidationError
from dunes.quantum.gates import DIRECTIVES, GATES, signature, suggest

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

#: Widest circuit dunes represents at all; simulation limits (``quantum.max_qubits``) are lower.
MAX_CIRCUIT_QUBITS = 1024


class Operation(BaseModel):
    """One gate or directive applied to qubits (and classical bits for ``measure``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    qubits: tuple[int, ...]
    params: tuple[float, ...] = ()
    clbits: tuple[int, ...] = ()


class CircuitSpec(BaseModel):
    """A validated circuit: qubit count, classical bits and operations in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    num_qubits: int = Field(ge=1, le=MAX_CIRCUIT_QUBITS)
    num_clbits: int = Field(0, ge=0)
    operations: tuple[Operation, ...]
    name: str | None = None

    @model_validator(mode="after")
    def _check(self) -> CircuitSpec:
        check_operations(self.operations, self.num_qubits, self.num_clbits)
        return self

    @property
    def gate_count(self) -> int:
        return sum(1 for op in self.operations if op.name not in DIRECTIVES)

    @property
    def has_measurements(self) -> bool:
        return any(op.name == "measure" for op in self.operations)

    @property
    def is_clifford(self) -> bool:
        return all(op.name in DIRECTIVES or GATES[op.name].clifford for op in self.operations)

    @property
    def depth(self) -> int:
        """Circuit depth counting gates and measurements (barriers excluded)."""
        level = [0] * self.num_qubits
        for op in self.operations:
            if op.name == "barrier":
                continue
            top = max(level[q] for q in op.qubits) + 1
            for q in op.qubits:
                level[q] = top
        return max(level, default=0)

    def split_terminal_measurements(self) -> tuple[tuple[Operation, ...], tuple[Operation, ...]]:
        """(body, terminal measurements); body keeps everything when a measurement or reset
        happens mid-circuit, in which case there is no single pre-measurement state."""
        ops = list(self.operations)
        tail: list[Operation] = []
        while ops and ops[-1].name in ("measure", "barrier"):
            op = ops.pop()
            if op.name == "measure":
                tail.insert(0, op)
        if any(op.name in ("measure", "reset") for op in ops):
            return self.operations, ()
        return tuple(ops), tuple(tail)

    @property
    def has_midcircuit_measurement(self) -> bool:
        body, _ = self.split_terminal_measurements()
        return any(op.name in ("measure", "reset") for op in body)

    def canonical_json(self) -> str:
        """A stable encoding: same circuit, same bytes (used for content-addressed ids)."""
        payload = {
            "num_qubits": self.num_qubits,
            "num_clbits": self.num_clbits,
            "operations": [
                [op.name, list(op.qubits), [repr(float(p)) for p in op.params], list(op.clbits)]
                for op in self.operations
            ],
        }
        return json.dumps(payload, separators=(",", ":"), sort_keys=True)

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def to_seed(self) -> str:
        """Seed notation, e.g. ``h(0); cx(0,1); rx(1.5707963267948966,0)``."""
        parts = []
        everything = tuple(range(self.num_qubits))
        for op in self.operations:
            if (
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
        return "; ".join(parts)

    def to_qiskit(self) -> QuantumCircuit:
        """Build the equivalent Qiskit circuit."""
        from qiskit import QuantumCircuit

        qc = QuantumCircuit(self.num_qubits, self.num_clbits, name=self.name or "circuit")
        for op in self.operations:
            _append(qc, op)
        return qc

    def to_qasm2(self) -> str:
        from qiskit import qasm2

        return qasm2.dumps(self.to_qiskit())


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
    for position, op in enumerate(ops, start=1):
        where = f"operation {position} ({op.name})"
        if op.name not in GATES and op.name not in DIRECTIVES:
            near = suggest(op.name)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise CircuitValidationError(
                f"{where}: unknown gate {op.name!r}{hint}", field="circuit"
            )
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
                raise CircuitValidationError(
                    f"{where}: classical bit {clbit} out of range (valid: 0..{num_clbits - 1})",
                    field="circuit",
                )
        for value in op.params:
            if not math.isfinite(value):
                raise CircuitValidationError(
                    f"{where}: parameter {value} is not a finite number", field="circuit"
                )
