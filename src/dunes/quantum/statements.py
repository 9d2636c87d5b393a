"""Parsed statements, before they become a CircuitSpec: what seed notation and JSON share.

Both notations produce ``Statement``s whose arguments are still text, each with the place it came
from (a line and column of seed text, or a JSON path), so every rule is checked once, here, and
every message points where the user wrote the mistake.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import ValidationError

from dunes.errors import CircuitError, CircuitSyntaxError, CircuitValidationError
from dunes.quantum.circuit import (
    MAX_CIRCUIT_QUBITS,
    CircuitSpec,
    Condition,
    Operation,
    if_else,
)
from dunes.quantum.gates import DIRECTIVES, GATES, canonical_name, signature, suggest

_CONSTANTS = {"pi": math.pi, "tau": math.tau, "e": math.e}
#: ``gphase(theta)``: the circuit's global phase, as in OpenQASM 3.
GPHASE = "gphase"
_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


class Place:
    """Where a piece of input came from; makes the error that points there."""

    def syntax(self, message: str) -> CircuitError:
        raise NotImplementedError

    def rule(self, message: str) -> CircuitError:
        """An error for input that reads fine but breaks a rule (range, size)."""
        raise NotImplementedError

    def shifted(self, offset: int) -> Place:
        """The place ``offset`` characters further on (a column inside an argument)."""
        return self


@dataclass(frozen=True)
class TextPlace(Place):
    """An offset into seed text, reported as line and column (both from 1)."""

    text: str
    pos: int

    def where(self) -> tuple[int, int]:
        line = self.text.count("\n", 0, self.pos) + 1
        column = self.pos - (self.text.rfind("\n", 0, self.pos) + 1) + 1
        return line, column

    def syntax(self, message: str) -> CircuitError:
        line, column = self.where()
        return CircuitSyntaxError(message, line=line, column=column)

    def rule(self, message: str) -> CircuitError:
        line, column = self.where()
        return CircuitValidationError(f"line {line}, column {column}: {message}", field="circuit")

    def shifted(self, offset: int) -> Place:
        return TextPlace(self.text, self.pos + offset)


@dataclass(frozen=True)
class JsonPlace(Place):
    """A gate of a JSON circuit: ``label`` as people read it, ``path`` as the field."""

    label: str
    path: str

    def syntax(self, message: str) -> CircuitError:
        return CircuitValidationError(f"{self.label}: {message}", field=self.path)

    rule = syntax


@dataclass(frozen=True)
class Arg:
    text: str
    place: Place


@dataclass(frozen=True)
class ConditionSyntax:
    """``c==3``, ``c[1]``, ``!c[0]``, ``c[0:2]!=1``: which bits (None: all), value, negated."""

    bits: tuple[int, ...] | None
    value: int
    negated: bool
    place: Place


@dataclass
class Statement:
    """One gate, directive or ``if``, with its arguments still as written."""

    name: str
    args: list[Arg]
    place: Place
    condition: ConditionSyntax | None = None
    body: list[Statement] = field(default_factory=list)
    orelse: list[Statement] = field(default_factory=list)


def eval_param(text: str, place: Place) -> float:
    """A gate parameter: numbers, pi, tau, e and + - * / ** (never Python's eval)."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise place.shifted(max((exc.offset or 1) - 1, 0)).syntax(
            f"cannot read parameter {text!r}"
        ) from exc
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        raise place.syntax(f"cannot read parameter {text!r}") from exc

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id.lower() in _CONSTANTS:
            return _CONSTANTS[node.id.lower()]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        raise place.shifted(getattr(node, "col_offset", 0)).syntax(
            f"parameter {text!r}: only numbers, pi, tau, e and + - * / ** are allowed"
        )

    try:
        value = walk(tree)
    except (ZeroDivisionError, OverflowError, RecursionError) as exc:
        raise place.syntax(f"parameter {text!r}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(value, float) or not math.isfinite(value):
        raise place.syntax(f"parameter {text!r} is not a finite real number")
    return value


def read_index(text: str, place: Place, what: str) -> int:
    """A qubit or classical-bit index: digits only, below MAX_CIRCUIT_QUBITS."""
    if not re.fullmatch(r"\d+", text):
        raise place.syntax(f"{what} must be a non-negative integer, got {text!r}")
    if len(text) > 6 or int(text) >= MAX_CIRCUIT_QUBITS:
        raise place.rule(
            f"{what} {text} is too large (dunes accepts indices 0..{MAX_CIRCUIT_QUBITS - 1})"
        )
    return int(text)


@dataclass
class _Pending:
    """A statement with its numbers read; qubit lists of bare ``measure``/``barrier`` open."""

    name: str
    qubits: tuple[int, ...]
    params: tuple[float, ...]
    clbits: tuple[int, ...] | None
    place: Place
    condition: ConditionSyntax | None = None
    body: list[_Pending] = field(default_factory=list)
    orelse: list[_Pending] = field(default_factory=list)


def build_spec(
    statements: list[Statement],
    *,
    num_qubits: int | None,
    num_clbits: int | None = None,
    name: str | None = None,
) -> CircuitSpec:
    """Check every statement and build the CircuitSpec.

    Raises:
        CircuitSyntaxError / CircuitValidationError: pointing at the statement.
    """
    if not statements:
        raise CircuitValidationError(
            "empty circuit: give at least one gate, e.g. 'h(0); cx(0,1)'", field="circuit"
        )
    pending = [_read(statement) for statement in statements]
    flat = list(_flatten(pending))
    highest = max((q for p in flat for q in p.qubits), default=-1)
    width = num_qubits if num_qubits is not None else highest + 1
    if width < 1:
        raise CircuitValidationError(
            "empty circuit: no gate acts on a qubit; give at least one gate, e.g. 'h(0)'",
            field="circuit",
        )
    for item in flat:
        for q in item.qubits:
            if q >= width:
                raise item.place.rule(
                    f"qubit index {q} out of range for a {width}-qubit circuit "
                    f"(valid: 0..{width - 1})"
                )
    written = [
        c for p in flat if p.name == "measure" for c in (p.clbits or p.qubits or (width - 1,))
    ]
    read = [c for p in flat if p.condition and p.condition.bits for c in p.condition.bits]
    inferred = max([*written, *read], default=-1) + 1
    clbits = max(inferred, num_clbits or 0)
    phase = sum(item.params[0] for item in pending if item.name == GPHASE)
    ops = [_operation(item, width, clbits) for item in pending if item.name != GPHASE]
    return make_spec(width, clbits, ops, name, global_phase=phase)


def _read(statement: Statement) -> _Pending:
    if statement.condition is not None:
        return _Pending(
            name="if",
            qubits=(),
            params=(),
            clbits=None,
            place=statement.place,
            condition=statement.condition,
            body=[_read(s) for s in statement.body],
            orelse=[_read(s) for s in statement.orelse],
        )
    raw_name, args, place = statement.name, statement.args, statement.place
    if raw_name.lower() == GPHASE:
        if len(args) != 1:
            raise place.syntax("gphase takes one angle: gphase(theta)")
        return _Pending(GPHASE, (), (eval_param(args[0].text, args[0].place),), None, place)
    gate_name = canonical_name(raw_name)
    if gate_name is None:
        near = suggest(raw_name)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise place.syntax(f"unknown gate {raw_name!r}{hint}")
    if gate_name in DIRECTIVES:
        if gate_name == "measure" and len(args) > 2:
            raise place.syntax("measure takes measure, measure(q) or measure(q, c)")
        if gate_name == "reset" and len(args) != 1:
            raise place.syntax("reset takes one qubit: reset(q)")
        indices = tuple(read_index(a.text, a.place, "a qubit index") for a in args)
        if gate_name == "measure" and len(indices) == 2:
            return _Pending(gate_name, indices[:1], (), indices[1:], place)
        return _Pending(gate_name, indices, (), None, place)
    gate = GATES[gate_name]
    if len(args) != gate.num_params + gate.num_qubits:
        raise place.syntax(
            f"gate {raw_name!r} takes {gate.num_params} parameter(s) and {gate.num_qubits} "
            f"qubit(s), written {signature(gate)}; got {len(args)} argument(s)"
        )
    params = tuple(eval_param(a.text, a.place) for a in args[: gate.num_params])
    qubits = tuple(read_index(a.text, a.place, "a qubit index") for a in args[gate.num_params :])
    return _Pending(gate_name, qubits, params, None, place)


def _flatten(items: list[_Pending]) -> list[_Pending]:
    out: list[_Pending] = []
    for item in items:
        out.append(item)
        out += _flatten(item.body) + _flatten(item.orelse)
    return out


def _operation(item: _Pending, width: int, num_clbits: int) -> Operation:
    if item.condition is not None:
        # A phase inside a classically chosen branch cannot be observed: it is dropped.
        body = tuple(_operation(i, width, num_clbits) for i in item.body if i.name != GPHASE)
        orelse = tuple(_operation(i, width, num_clbits) for i in item.orelse if i.name != GPHASE)
        condition = _condition(item.condition, num_clbits)
        if item.condition.negated and len(condition.clbits) == 1:
            condition = Condition(clbits=condition.clbits, value=1 - condition.value)
        elif item.condition.negated:  # c != 3: the else of c == 3
            body, orelse = orelse, body
        if not body and not orelse:
            raise item.place.syntax("if: give a statement or a { block } to run")
        return if_else(condition, body, orelse)
    qubits, clbits = item.qubits, item.clbits
    if item.name in ("measure", "barrier") and not qubits:
        qubits = tuple(range(width))
    if item.name == "measure":
        clbits = clbits if clbits is not None else qubits
    return Operation(name=item.name, qubits=qubits, params=item.params, clbits=clbits or ())


def _condition(syntax: ConditionSyntax, num_clbits: int) -> Condition:
    if syntax.bits is None and num_clbits == 0:
        raise syntax.place.rule(
            "the condition reads the classical register, but nothing is measured into it; "
            "measure first, e.g. 'measure(0, 0); if(c==1) x(1)'"
        )
    bits = syntax.bits if syntax.bits is not None else tuple(range(num_clbits))
    if len(set(bits)) != len(bits):
        raise syntax.place.rule("the condition reads the same classical bit twice")
    if syntax.value >= 2 ** len(bits):
        raise syntax.place.rule(
            f"the condition compares {len(bits)} classical bit(s) with {syntax.value}; "
            f"they hold 0..{2 ** len(bits) - 1}"
        )
    return Condition(clbits=bits, value=syntax.value)


def make_spec(
    num_qubits: int,
    num_clbits: int,
    ops: list[Operation],
    name: str | None,
    *,
    global_phase: float = 0.0,
) -> CircuitSpec:
    """A CircuitSpec, with pydantic's wrapping of our own error taken off."""
    try:
        return CircuitSpec(
            num_qubits=num_qubits,
            num_clbits=num_clbits,
            operations=tuple(ops),
            name=name,
            global_phase=math.remainder(global_phase, math.tau),
        )
    except ValidationError as exc:
        cause = exc.errors()[0].get("ctx", {}).get("error")
        if isinstance(cause, CircuitValidationError):
            raise cause from None
        raise CircuitValidationError(f"invalid circuit: {exc.errors()[0]['msg']}") from exc
