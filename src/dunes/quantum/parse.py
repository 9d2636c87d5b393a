"""Circuits in: seed notation, OpenQASM 2, OpenQASM 3 and JSON gate lists, all to CircuitSpec.

Seed notation is the vendor guide's ``h(0); cx(0,1)`` extended to every standard gate:
parameters first, then qubits (``rx(pi/2, 0)``, ``cp(pi/4, 0, 1)``); ``measure`` alone measures
every qubit, ``measure(q)`` or ``measure(q, c)`` one; ``#`` and ``//`` start comments;
statements end at ``;`` or a newline.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import ValidationError

from dunes.errors import CircuitSyntaxError, CircuitValidationError
from dunes.quantum.circuit import MAX_CIRCUIT_QUBITS, CircuitSpec, Operation
from dunes.quantum.gates import DIRECTIVES, GATES, canonical_name, signature, suggest

CircuitFormat = Literal["auto", "seed", "qasm2", "qasm3", "json"]

_CONSTANTS = {"pi": math.pi, "tau": math.tau, "e": math.e}
_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def detect_format(text: str) -> CircuitFormat:
    """Guess the notation of ``text`` from its first meaningful characters."""
    stripped = _strip_leading_comments(text)
    if stripped.startswith(("[", "{")):
        return "json"
    match = re.match(r"OPENQASM\s+(\d+)", stripped)
    if match:
        return "qasm3" if match.group(1) == "3" else "qasm2"
    return "seed"


def _strip_leading_comments(text: str) -> str:
    lines = text.lstrip().splitlines()
    while lines and (lines[0].lstrip().startswith("//") or not lines[0].strip()):
        lines.pop(0)
    return "\n".join(lines).lstrip()


def parse_circuit(
    source: str | Sequence[Any] | dict[str, Any],
    *,
    num_qubits: int | None = None,
    fmt: CircuitFormat = "auto",
    name: str | None = None,
) -> CircuitSpec:
    """Parse any accepted notation into a validated CircuitSpec.

    Raises:
        CircuitSyntaxError: the text does not parse (with line and column).
        CircuitValidationError: it parses but breaks a rule (gate, arity, range, empty).
    """
    if num_qubits is not None and not 1 <= num_qubits <= MAX_CIRCUIT_QUBITS:
        raise CircuitValidationError(
            f"num_qubits={num_qubits} is out of range; give 1..{MAX_CIRCUIT_QUBITS}",
            field="num_qubits",
        )
    if not isinstance(source, str):
        return _from_json_value(source, num_qubits=num_qubits, name=name)
    kind = detect_format(source) if fmt == "auto" else fmt
    if kind == "json":
        try:
            value = json.loads(source)
        except json.JSONDecodeError as exc:
            raise CircuitSyntaxError(
                f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno
            ) from exc
        return _from_json_value(value, num_qubits=num_qubits, name=name)
    if kind in ("qasm2", "qasm3"):
        return _from_qasm(source, kind, num_qubits=num_qubits, name=name)
    return parse_seed(source, num_qubits=num_qubits, name=name)


# --- seed notation -------------------------------------------------------------------------


class _Cursor:
    """Position tracking over the source text for line/column messages."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def where(self, pos: int | None = None) -> tuple[int, int]:
        at = self.pos if pos is None else pos
        line = self.text.count("\n", 0, at) + 1
        column = at - (self.text.rfind("\n", 0, at) + 1) + 1
        return line, column

    def error(self, message: str, pos: int | None = None) -> CircuitSyntaxError:
        line, column = self.where(pos)
        return CircuitSyntaxError(message, line=line, column=column)

    def skip_blank(self, *, newlines: bool) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "#" or self.text.startswith("//", self.pos):
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif char in " \t\r" or (newlines and char == "\n"):
                self.pos += 1
            else:
                return

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""


def parse_seed(text: str, *, num_qubits: int | None = None, name: str | None = None) -> CircuitSpec:
    """Parse seed notation (see the module docstring)."""
    cur = _Cursor(text)
    statements: list[tuple[str, list[tuple[str, int]], int]] = []
    while True:
        cur.skip_blank(newlines=True)
        while cur.peek() == ";":
            cur.pos += 1
            cur.skip_blank(newlines=True)
        if not cur.peek():
            break
        start = cur.pos
        match = _NAME.match(text, cur.pos)
        if not match:
            raise cur.error(f"expected a gate name, found {cur.peek()!r}")
        cur.pos = match.end()
        cur.skip_blank(newlines=False)
        args: list[tuple[str, int]] = []
        if cur.peek() == "(":
            args = _read_args(cur)
            cur.skip_blank(newlines=False)
        if cur.peek() not in (";", "\n", ""):
            raise cur.error(
                f"expected ';' or a new line after {match.group()!r}, found {cur.peek()!r}"
            )
        statements.append((match.group(), args, start))
    if not statements:
        raise CircuitValidationError(
            "empty circuit: give at least one gate, e.g. 'h(0); cx(0,1)'", field="circuit"
        )
    return _build(cur, statements, num_qubits=num_qubits, name=name)


def _read_args(cur: _Cursor) -> list[tuple[str, int]]:
    """Read ``( a, b, ... )`` splitting on top-level commas; returns (text, position) pairs."""
    open_pos = cur.pos
    cur.pos += 1
    depth = 0
    args: list[tuple[str, int]] = []
    start = cur.pos
    while True:
        char = cur.peek()
        if char == "" or char == ";" or (char == "\n" and depth == 0):
            raise cur.error("unclosed '(': expected ')'", open_pos)
        if char == "(":
            depth += 1
        elif char == ")" and depth > 0:
            depth -= 1
        elif char in ",)" and depth == 0:
            piece = cur.text[start : cur.pos]
            if piece.strip() or char == "," or args:
                if not piece.strip():
                    raise cur.error("empty argument", cur.pos)
                offset = len(piece) - len(piece.lstrip())
                args.append((piece.strip(), start + offset))
            cur.pos += 1
            if char == ")":
                return args
            start = cur.pos
            continue
        cur.pos += 1


def _eval_param(cur: _Cursor, text: str, pos: int) -> float:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise cur.error(
            f"cannot read parameter {text!r}", pos + max((exc.offset or 1) - 1, 0)
        ) from exc
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        raise cur.error(f"cannot read parameter {text!r}", pos) from exc

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
        column = pos + getattr(node, "col_offset", 0)
        raise cur.error(
            f"parameter {text!r}: only numbers, pi, tau, e and + - * / ** are allowed", column
        )

    try:
        value = walk(tree)
    except (ZeroDivisionError, OverflowError, RecursionError) as exc:
        raise cur.error(f"parameter {text!r}: {type(exc).__name__}: {exc}", pos) from exc
    if not isinstance(value, float) or not math.isfinite(value):
        raise cur.error(f"parameter {text!r} is not a finite real number", pos)
    return value


def _read_index(cur: _Cursor, text: str, pos: int, what: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise cur.error(f"{what} must be a non-negative integer, got {text!r}", pos)
    if len(text) > 6 or int(text) >= MAX_CIRCUIT_QUBITS:
        line, column = cur.where(pos)
        raise CircuitValidationError(
            f"line {line}, column {column}: {what} {text} is too large "
            f"(dunes accepts indices 0..{MAX_CIRCUIT_QUBITS - 1})",
            field="circuit",
        )
    return int(text)


def _build(
    cur: _Cursor,
    statements: list[tuple[str, list[tuple[str, int]], int]],
    *,
    num_qubits: int | None,
    name: str | None,
) -> CircuitSpec:
    pending: list[tuple[str, tuple[int, ...], tuple[float, ...], tuple[int, ...] | None, int]] = []
    highest = -1
    for raw_name, args, pos in statements:
        gate_name = canonical_name(raw_name)
        if gate_name is None:
            near = suggest(raw_name)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            line, column = cur.where(pos)
            raise CircuitSyntaxError(f"unknown gate {raw_name!r}{hint}", line=line, column=column)
        if gate_name in DIRECTIVES:
            if gate_name == "measure" and len(args) > 2:
                raise cur.error("measure takes measure, measure(q) or measure(q, c)", pos)
            if gate_name == "reset" and len(args) != 1:
                raise cur.error("reset takes one qubit: reset(q)", pos)
            indices = tuple(_read_index(cur, a, p, "a qubit index") for a, p in args)
            if gate_name == "measure" and len(indices) == 2:
                qubits, clbits = indices[:1], indices[1:]
            else:
                qubits, clbits = indices, None
            pending.append((gate_name, qubits, (), clbits, pos))
            highest = max(highest, *qubits) if qubits else highest
            continue
        gate = GATES[gate_name]
        expected = gate.num_params + gate.num_qubits
        if len(args) != expected:
            raise cur.error(
                f"gate {raw_name!r} takes {gate.num_params} parameter(s) and {gate.num_qubits} "
                f"qubit(s), written {signature(gate)}; got {len(args)} argument(s)",
                pos,
            )
        params = tuple(_eval_param(cur, a, p) for a, p in args[: gate.num_params])
        qubits = tuple(_read_index(cur, a, p, "a qubit index") for a, p in args[gate.num_params :])
        highest = max(highest, *qubits)
        pending.append((gate_name, qubits, params, None, pos))
    width = num_qubits if num_qubits is not None else highest + 1
    if width < 1:
        raise CircuitValidationError(
            "empty circuit: no gate acts on a qubit; give at least one gate, e.g. 'h(0)'",
            field="circuit",
        )
    for _, qubits, _, _, pos in pending:
        for q in qubits:
            if q >= width:
                line, column = cur.where(pos)
                raise CircuitValidationError(
                    f"line {line}, column {column}: qubit index {q} out of range for a "
                    f"{width}-qubit circuit (valid: 0..{width - 1})",
                    field="circuit",
                )
    ops = []
    measured_clbits = 0
    for gate_name, qubits, params, clbits, _ in pending:
        if gate_name in ("measure", "barrier") and not qubits:
            qubits = tuple(range(width))
        if gate_name == "measure":
            clbits = clbits if clbits is not None else qubits
            measured_clbits = max(measured_clbits, max(clbits) + 1)
        ops.append(Operation(name=gate_name, qubits=qubits, params=params, clbits=clbits or ()))
    return _make_spec(width, measured_clbits, ops, name)


def _make_spec(
    num_qubits: int, num_clbits: int, ops: list[Operation], name: str | None
) -> CircuitSpec:
    try:
        return CircuitSpec(
            num_qubits=num_qubits, num_clbits=num_clbits, operations=tuple(ops), name=name
        )
    except ValidationError as exc:
        cause = exc.errors()[0].get("ctx", {}).get("error")
        if isinstance(cause, CircuitValidationError):
            raise cause from None
        raise CircuitValidationError(f"invalid circuit: {exc.errors()[0]['msg']}") from exc


# --- JSON --------------------------------------------------------------------------------


def _from_json_value(value: Any, *, num_qubits: int | None, name: str | None) -> CircuitSpec:
    """Accept ``[{"gate": "h", "qubits": [0]}, ...]`` or ``{"num_qubits": n, "gates": [...]}``."""
    if isinstance(value, dict):
        if num_qubits is None and value.get("num_qubits") is not None:
            num_qubits = _json_int(value["num_qubits"], "num_qubits")
        gates = value.get("gates", value.get("operations"))
        if gates is None:
            raise CircuitValidationError(
                "JSON circuit object needs a 'gates' list, e.g. "
                '{"num_qubits": 2, "gates": [{"gate": "h", "qubits": [0]}]}',
                field="circuit",
            )
        name = name or value.get("name")
        value = gates
    if not isinstance(value, list):
        raise CircuitValidationError(
            "JSON circuit must be a list of gates or an object with 'gates'", field="circuit"
        )
    statements: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise CircuitValidationError(
                f'gate {index}: expected an object like {{"gate": "cx", "qubits": [0, 1]}},'
                f" got {type(item).__name__}",
                field=f"gates[{index}]",
            )
        gate = item.get("gate", item.get("name"))
        if not isinstance(gate, str):
            raise CircuitValidationError(
                f"gate {index}: missing 'gate' name", field=f"gates[{index}]"
            )
        qubits = item.get("qubits", [])
        params = item.get("params", [])
        clbits = item.get("clbits", [])
        if (
            not isinstance(qubits, list)
            or not isinstance(params, list)
            or not isinstance(clbits, list)
        ):
            raise CircuitValidationError(
                f"gate {index}: 'qubits', 'params' and 'clbits' must be lists",
                field=f"gates[{index}]",
            )
        if not _NAME.fullmatch(gate):
            raise CircuitValidationError(
                f"gate {index}: {gate!r} is not a gate name (letters, digits, '_')",
                field=f"gates[{index}]",
            )
        texts = [_json_param(p, f"gates[{index}].params") for p in params]
        qubit_texts = [str(_json_int(q, f"gates[{index}].qubits")) for q in qubits]
        clbit_texts = [str(_json_int(c, f"gates[{index}].clbits")) for c in clbits]
        if canonical_name(gate) == "measure" and clbit_texts:
            if len(clbit_texts) != len(qubit_texts) or texts:
                raise CircuitValidationError(
                    f"gate {index}: measure needs one classical bit per qubit and no params",
                    field=f"gates[{index}]",
                )
            # One line per JSON gate keeps syntax errors pointing at the right gate.
            statements.append(
                "; ".join(
                    f"{gate}({q}, {c})" for q, c in zip(qubit_texts, clbit_texts, strict=True)
                )
            )
            continue
        args = texts + qubit_texts + clbit_texts
        statements.append(f"{gate}({', '.join(args)})" if args else gate)
    try:
        return parse_seed("\n".join(statements), num_qubits=num_qubits, name=name)
    except CircuitSyntaxError as exc:
        # Report the JSON gate, not the synthesized line.
        index = (exc.line or 1) - 1
        detail = exc.message.split(": ", 1)[-1]
        raise CircuitValidationError(f"gate {index}: {detail}", field=f"gates[{index}]") from exc


def _json_param(value: Any, field: str) -> str:
    """A parameter as seed text: a number, or an expression such as ``"pi/2"``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str) and value.strip() and not set(value) & set(";,\n\r#"):
        return value
    raise CircuitValidationError(
        f"{field} must be a number or an expression like 'pi/2', got {value!r}", field=field
    )


def _json_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CircuitValidationError(f"{field} must be an integer, got {value!r}", field=field)
    return value


# --- OpenQASM ------------------------------------------------------------------------------

_QASM_POSITION = re.compile(
    r"(?:line\s*(\d+)[^\d]+(?:column|col)\s*(\d+))"
    r"|(?:(?:<input>:)?(\d+),(\d+):)"
    r"|(?:L(\d+):C(\d+):)"
)


def _from_qasm(
    text: str, kind: Literal["qasm2", "qasm3"], *, num_qubits: int | None, name: str | None
) -> CircuitSpec:
    label = "OpenQASM 3" if kind == "qasm3" else "OpenQASM 2"
    try:
        if kind == "qasm2":
            from qiskit import qasm2

            circuit = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        else:
            from qiskit import qasm3

            _check_qasm3_syntax(text)
            circuit = qasm3.loads(text)
    except ImportError as exc:
        from dunes.errors import MissingDependencyError

        raise MissingDependencyError(
            "OpenQASM 3 needs qiskit-qasm3-import: pip install qiskit-qasm3-import"
        ) from exc
    except CircuitSyntaxError:
        raise
    except Exception as exc:  # qiskit raises several unrelated types for bad input
        text_of = str(exc).strip().strip('"').strip()
        message = text_of.splitlines()[0] if text_of else type(exc).__name__
        match = _QASM_POSITION.search(text_of)
        line = column = None
        if match:
            groups = [g for g in match.groups() if g is not None]
            # Qiskit counts columns from 0; dunes reports them from 1 like editors do.
            line, column = int(groups[0]), int(groups[1]) + 1
            message = _QASM_POSITION.sub("", message, count=1).strip(" :")
        raise CircuitSyntaxError(f"{label}: {message}", line=line, column=column) from exc
    return from_qiskit(circuit, num_qubits=num_qubits, name=name)


def _check_qasm3_syntax(text: str) -> None:
    """Parse OpenQASM 3 with a listener that keeps the first syntax error's position.

    The importer raises a bare ``QASM3ParsingError`` without a position and lets ANTLR print to
    stderr; this parse is silent and says where the text breaks.
    """
    from antlr4 import CommonTokenStream, InputStream
    from antlr4.error.ErrorListener import ErrorListener
    from openqasm3._antlr.qasm3Lexer import qasm3Lexer
    from openqasm3._antlr.qasm3Parser import qasm3Parser

    errors: list[tuple[int, int, str]] = []

    class _Collect(ErrorListener):  # type: ignore[misc]
        def syntaxError(
            self,
            recognizer: object,
            offendingSymbol: object,
            line: int,
            column: int,
            msg: str,
            e: object,
        ) -> None:
            errors.append((line, column, msg))

    lexer = qasm3Lexer(InputStream(text))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_Collect())
    parser = qasm3Parser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(_Collect())
    parser.program()
    if errors:
        line, column, msg = errors[0]
        raise CircuitSyntaxError(f"OpenQASM 3: {msg}", line=line, column=column + 1)


#: Qiskit instructions for classical control flow, which dunes does not simulate.
_CONTROL_FLOW = ("if_else", "while_loop", "for_loop", "switch_case", "break_loop", "continue_loop")


def from_qiskit(
    circuit: Any, *, num_qubits: int | None = None, name: str | None = None
) -> CircuitSpec:
    """Convert a Qiskit QuantumCircuit, decomposing gates dunes does not name itself.

    Raises:
        CircuitValidationError: control flow, unbound parameters, gates that do not decompose.
    """
    for _ in range(8):
        flow = sorted({i.operation.name for i in circuit.data if i.operation.name in _CONTROL_FLOW})
        if flow:
            raise CircuitValidationError(
                f"classical control flow ({', '.join(flow)}) is not supported; give a circuit of "
                "gates, measure, reset and barrier",
                field="circuit",
            )
        unknown = {inst.operation.name for inst in circuit.data if not _maps_to_dunes_gate(inst)}
        if not unknown:
            break
        try:
            circuit = circuit.decompose(gates_to_decompose=list(unknown))
        except Exception as exc:  # qiskit raises assorted types for gates without definition
            raise CircuitValidationError(
                f"cannot express {', '.join(sorted(unknown))} with standard gates: {exc}",
                field="circuit",
            ) from exc
    width = circuit.num_qubits if num_qubits is None else num_qubits
    if width < circuit.num_qubits:
        raise CircuitValidationError(
            f"circuit uses {circuit.num_qubits} qubits but num_qubits={num_qubits} was given",
            field="num_qubits",
        )
    ops: list[Operation] = []
    for inst in circuit.data:
        op_name = canonical_name(inst.operation.name)
        if op_name is None or not _maps_to_dunes_gate(inst):
            near = suggest(inst.operation.name)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise CircuitValidationError(
                f"unknown gate {inst.operation.name!r} on {len(inst.qubits)} qubit(s){hint}",
                field="circuit",
            )
        qubits = tuple(circuit.find_bit(q).index for q in inst.qubits)
        clbits = tuple(circuit.find_bit(c).index for c in inst.clbits)
        try:
            params = tuple(float(p) for p in inst.operation.params)
        except (TypeError, ValueError) as exc:
            raise CircuitValidationError(
                f"gate {op_name!r} has an unbound parameter {inst.operation.params}; "
                "bind every parameter to a number",
                field="circuit",
            ) from exc
        if op_name in ("barrier", "measure", "reset"):
            params = ()
        ops.append(Operation(name=op_name, qubits=qubits, params=params, clbits=clbits))
    return _make_spec(width, circuit.num_clbits, ops, name or circuit.name)


def _maps_to_dunes_gate(inst: Any) -> bool:
    """Whether a Qiskit instruction is a dunes gate or directive with the same arity."""
    op_name = canonical_name(inst.operation.name)
    if op_name is None:
        return False
    if op_name in DIRECTIVES:
        return True
    gate = GATES[op_name]
    params = len(inst.operation.params)
    # Qiskit names multi-controlled X 'mcx' whatever the number of controls.
    return len(inst.qubits) == gate.num_qubits and params == gate.num_params
