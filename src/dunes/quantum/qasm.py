"""OpenQASM 2 and 3 through Qiskit's own readers, and Qiskit circuits into CircuitSpec.

Files found in the wild are read as their authors meant them: a missing version line, a byte
order mark, CRLF line ends, a missing ``include`` of the standard gates, Qiskit's legacy qelib1
extras (sx, swap, cswap, rxx, c3x, ...), classical control (``if(c==1) x q[0];``,
``if (c[0]) { } else { }``).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from dunes.errors import CircuitSyntaxError, CircuitValidationError, MissingDependencyError
from dunes.quantum.circuit import MAX_CIRCUIT_QUBITS, CircuitSpec, Condition, Operation, if_else
from dunes.quantum.gates import DIRECTIVES, GATES, canonical_name, suggest
from dunes.quantum.statements import make_spec

QasmVersion = Literal["qasm2", "qasm3"]

_QASM_POSITION = re.compile(
    r"(?:line\s*(\d+)[^\d]+(?:column|col)\s*(\d+))"
    r"|(?:(?:<input>:)?(\d+),(\d+):)"
    r"|(?:L(\d+):C(\d+):)"
)
_VERSION = re.compile(r"^\s*OPENQASM\s+[\d.]+\s*;", re.MULTILINE)
_STANDARD_INCLUDE = {"qasm2": 'include "qelib1.inc";', "qasm3": 'include "stdgates.inc";'}
_UNDEFINED_GATE = re.compile(
    r"cannot use non-builtin custom instruction '(\w+)' before definition"
    r"|gate '(\w+)' is not defined"
)
_LABEL = {"qasm2": "OpenQASM 2", "qasm3": "OpenQASM 3"}


def parse_qasm(
    text: str, version: QasmVersion, *, num_qubits: int | None = None, name: str | None = None
) -> CircuitSpec:
    """Read OpenQASM text with Qiskit and convert it (see :func:`from_qiskit`).

    Raises:
        CircuitSyntaxError: with the line and column Qiskit names.
        CircuitValidationError: it reads, but dunes cannot represent it.
    """
    circuit = load_qasm(text, version)
    return from_qiskit(circuit, num_qubits=num_qubits, name=name)


def load_qasm(text: str, version: QasmVersion) -> Any:
    """The Qiskit circuit of OpenQASM text as found in the wild (a byte order mark, a missing
    standard include), after refusing registers larger than any circuit.

    Raises:
        CircuitSyntaxError: with the line and column Qiskit names.
        CircuitValidationError: the registers are too large.
    """
    text = text.removeprefix("\ufeff")
    _check_register_sizes(text, version)
    try:
        return _load(text, version)
    except CircuitSyntaxError as first:
        # A file that forgot the standard include: read it as if it were there.
        missing = _UNDEFINED_GATE.search(first.message)
        gate = missing and (missing.group(1) or missing.group(2))
        if not gate or "include" in text or canonical_name(gate) is None:
            raise
        try:
            return _load(_with_include(text, version), version)
        except CircuitSyntaxError:
            raise first from None


_REGISTER = re.compile(
    r"\b(?:(qreg|creg)\s+[A-Za-z_]\w*\s*\[\s*(\d+)\s*\]|(qubit|bit)\s*\[\s*(\d+)\s*\])"
)


def _check_register_sizes(text: str, version: QasmVersion) -> None:
    """Refuse registers larger than any circuit before Qiskit allocates them: a one-line
    ``qreg q[999999999];`` would otherwise take tens of GB to parse."""
    totals = {"qubits": 0, "bits": 0}
    for match in _REGISTER.finditer(text):
        keyword = match.group(1) or match.group(3)
        size = int(match.group(2) or match.group(4))
        kind = "qubits" if keyword in ("qreg", "qubit") else "bits"
        totals[kind] += size
        if totals[kind] > MAX_CIRCUIT_QUBITS:
            line = text.count("\n", 0, match.start()) + 1
            raise CircuitValidationError(
                f"{_LABEL[version]}: the registers declare more than {MAX_CIRCUIT_QUBITS} "
                f"{kind} (line {line}: {match.group(0)!r}); no method simulates that many",
                field="circuit",
            )


def _with_include(text: str, version: QasmVersion) -> str:
    """The text with the standard include after its version line, keeping line numbers."""
    include = _STANDARD_INCLUDE[version]
    match = _VERSION.search(text)
    if match is None:
        return f"{include} {text}"
    return f"{text[: match.end()]} {include}{text[match.end() :]}"


def _load(text: str, version: QasmVersion) -> Any:
    label = _LABEL[version]
    try:
        if version == "qasm2":
            from qiskit import qasm2

            try:
                return qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
            except TypeError as exc:
                # A standard gate given the wrong number of parameters fails in Qiskit's
                # constructor, without a position: find the statement here.
                raise (_parameter_count_error(text, label) or exc) from exc
        from qiskit import qasm3

        _check_qasm3_syntax(text)
        return qasm3.loads(text)
    except ImportError as exc:
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


_APPLICATION = re.compile(
    r"^[ \t]*([A-Za-z_]\w*)[ \t]*(?:\(([^)]*)\))?[ \t]+[A-Za-z_][^;]*;", re.MULTILINE
)
_QASM2_ONLY_NAMES = {"u1": 1, "u2": 2, "u3": 3, "cu1": 1, "cu3": 3, "u0": 1}


def _parameter_count_error(text: str, label: str) -> CircuitSyntaxError | None:
    """The first standard-gate statement with the wrong number of parameters, if any."""
    defined = set(re.findall(r"\b(?:gate|opaque)\s+([A-Za-z_]\w*)", text))
    for match in _APPLICATION.finditer(text):
        name, params = match.group(1), match.group(2)
        if name in defined or name in ("qreg", "creg", "measure", "reset", "barrier", "include"):
            continue
        wanted = _QASM2_ONLY_NAMES.get(name)
        if wanted is None and canonical_name(name) in GATES:
            wanted = GATES[canonical_name(name) or name].num_params
        given = len([p for p in (params or "").split(",") if p.strip()])
        if wanted is not None and given != wanted:
            line = text.count("\n", 0, match.start(1)) + 1
            column = match.start(1) - (text.rfind("\n", 0, match.start(1)) + 1) + 1
            return CircuitSyntaxError(
                f"{label}: gate {name!r} takes {wanted} parameter(s), got {given}",
                line=line,
                column=column,
            )
    return None


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


#: Qiskit instructions for loops and switches, which dunes does not represent.
_UNSUPPORTED_FLOW = ("while_loop", "for_loop", "switch_case", "break_loop", "continue_loop", "box")
#: Instructions that do nothing to the state a simulation reports.
_IGNORED = ("delay",)
#: Nested gate definitions expanded before giving up (Qiskit's library is a few levels deep).
_MAX_DEFINITION_DEPTH = 24
#: Operations a circuit may expand to: gate definitions that call each other twice per level
#: grow as 2**depth, and a 1-KB file would otherwise expand to millions of operations.
MAX_OPERATIONS = 1_000_000


def from_qiskit(
    circuit: Any, *, num_qubits: int | None = None, name: str | None = None
) -> CircuitSpec:
    """Convert a Qiskit QuantumCircuit, expanding gates dunes does not name itself.

    ``if_else`` is kept (conditions on a bit, on a register, or the equivalent expressions);
    the circuit's global phase is kept, so statevectors match Qiskit's exactly.

    Raises:
        CircuitValidationError: loops, unbound parameters, gates without a definition.
    """
    width = circuit.num_qubits if num_qubits is None else num_qubits
    if width < circuit.num_qubits:
        raise CircuitValidationError(
            f"circuit uses {circuit.num_qubits} qubits but num_qubits={num_qubits} was given",
            field="num_qubits",
        )
    qubit_index = {bit: i for i, bit in enumerate(circuit.qubits)}
    clbit_index = {bit: i for i, bit in enumerate(circuit.clbits)}
    check_expansion(circuit)
    converter = _Converter()
    ops = converter.block(circuit, qubit_index, clbit_index, depth=0, top=True)
    phase = converter.global_phase + _float_param(circuit.global_phase, "global phase")
    return make_spec(width, circuit.num_clbits, ops, name or circuit.name, global_phase=phase)


def check_expansion(circuit: Any) -> None:
    """Refuse a circuit whose gates expand past ``MAX_OPERATIONS`` before expanding them.

    Raises:
        CircuitValidationError: says how many operations it would become.
    """
    size = _expanded_size(circuit, {}, depth=0)
    if size > MAX_OPERATIONS:
        raise CircuitValidationError(
            f"the circuit expands to {size:,} operations, more than {MAX_OPERATIONS:,} (gate "
            "definitions that call each other grow as 2**depth); give it in expanded form or "
            "with fewer nested definitions",
            field="circuit",
        )


def _expanded_size(circuit: Any, memo: dict[tuple[str, int, int], int], *, depth: int) -> int:
    """How many operations ``circuit`` becomes once its gates are expanded, counted once per
    kind of gate (so a definition that doubles per level costs its depth, not 2**depth)."""
    total = 0
    for inst in circuit.data:
        operation = inst.operation
        blocks = getattr(operation, "blocks", ())
        if blocks:
            total += 1 + sum(_expanded_size(b, memo, depth=depth) for b in blocks)
            continue
        if _maps_to_dunes_gate(operation, len(inst.qubits)) or operation.name in _IGNORED:
            total += 1
            continue
        key = (operation.name, len(inst.qubits), len(inst.clbits))
        if key not in memo:
            definition = getattr(operation, "definition", None)
            if definition is None or depth >= _MAX_DEFINITION_DEPTH:
                memo[key] = 1  # refused with its reason when converted
            else:
                memo[key] = _expanded_size(definition, memo, depth=depth + 1)
        total += memo[key]
        if total > MAX_OPERATIONS:
            return total
    return total


def _float_param(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise CircuitValidationError(
            f"{what} has an unbound parameter {value}; bind every parameter to a number",
            field="circuit",
        ) from exc


class _Converter:
    """Walks a Qiskit circuit, its control-flow blocks and gate definitions."""

    def __init__(self) -> None:
        self.global_phase = 0.0

    def block(
        self,
        circuit: Any,
        qubits: dict[Any, int],
        clbits: dict[Any, int],
        *,
        depth: int,
        top: bool,
    ) -> list[Operation]:
        ops: list[Operation] = []
        for inst in circuit.data:
            ops += self.instruction(inst, qubits, clbits, depth=depth, top=top)
        return ops

    def instruction(
        self, inst: Any, qubits: dict[Any, int], clbits: dict[Any, int], *, depth: int, top: bool
    ) -> list[Operation]:
        operation = inst.operation
        op_name = operation.name
        outer_qubits = tuple(qubits[q] for q in inst.qubits)
        outer_clbits = tuple(clbits[c] for c in inst.clbits)
        if op_name == "if_else":
            return [self.if_else(inst, qubits, clbits, depth=depth)]
        if op_name in _UNSUPPORTED_FLOW:
            raise CircuitValidationError(
                f"classical control flow {op_name} is not supported; dunes runs gates, measure, "
                "reset, barrier and if/else (if(c==1) ..., if (c[0]) { } else { })",
                field="circuit",
            )
        if op_name in _IGNORED:
            return []
        if _maps_to_dunes_gate(operation, len(inst.qubits)):
            dunes_name = canonical_name(op_name) or op_name
            params: tuple[float, ...] = ()
            if dunes_name not in DIRECTIVES:
                params = tuple(_float_param(p, f"gate {dunes_name!r}") for p in operation.params)
            return [
                Operation(name=dunes_name, qubits=outer_qubits, params=params, clbits=outer_clbits)
            ]
        definition = getattr(operation, "definition", None)
        if definition is None or depth >= _MAX_DEFINITION_DEPTH:
            near = suggest(op_name)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise CircuitValidationError(
                f"cannot express {op_name!r} on {len(inst.qubits)} qubit(s) with standard gates: "
                f"it has no definition (an opaque gate, or a gate without a body){hint}",
                field="circuit",
            )
        if top:
            self.global_phase += _float_param(definition.global_phase, f"gate {op_name!r}")
        inner_qubits = {bit: outer_qubits[i] for i, bit in enumerate(definition.qubits)}
        inner_clbits = {bit: outer_clbits[i] for i, bit in enumerate(definition.clbits)}
        return self.block(definition, inner_qubits, inner_clbits, depth=depth + 1, top=top)

    def if_else(
        self, inst: Any, qubits: dict[Any, int], clbits: dict[Any, int], *, depth: int
    ) -> Operation:
        operation = inst.operation
        condition, negated = _condition(operation.condition, clbits)
        if negated and len(condition.clbits) == 1:
            condition, negated = (
                Condition(clbits=condition.clbits, value=1 - condition.value),
                False,
            )
        blocks: list[tuple[Operation, ...]] = []
        for block in operation.blocks:
            if block is None:
                blocks.append(())
                continue
            inner_qubits = {
                **qubits,
                **dict(zip(block.qubits, (qubits[q] for q in inst.qubits), strict=True)),
            }
            inner_clbits = {
                **clbits,
                **dict(zip(block.clbits, (clbits[c] for c in inst.clbits), strict=True)),
            }
            # A phase inside a classically chosen branch is the global phase of that branch:
            # nothing can observe it, so it is not kept.
            blocks.append(
                tuple(self.block(block, inner_qubits, inner_clbits, depth=depth, top=False))
            )
        body, orelse = blocks[0], (blocks[1] if len(blocks) > 1 else ())
        if negated:
            body, orelse = orelse, body
        return if_else(condition, body, orelse)


def _condition(condition: Any, clbits: dict[Any, int]) -> tuple[Condition, bool]:
    """A Qiskit condition as (Condition, negated): ``(bit, bool)``, ``(register, int)``, or the
    expressions ``bit``, ``!bit``, ``register == v`` and ``register != v``."""
    from qiskit.circuit import ClassicalRegister, Clbit
    from qiskit.circuit.classical import expr

    if isinstance(condition, tuple):
        target, value = condition
        if isinstance(target, Clbit):
            return Condition(clbits=(clbits[target],), value=int(bool(value))), False
        if isinstance(target, ClassicalRegister):
            return Condition(clbits=tuple(clbits[b] for b in target), value=int(value)), False
    if isinstance(condition, expr.Var) and isinstance(condition.var, Clbit):
        return Condition(clbits=(clbits[condition.var],), value=1), False
    if isinstance(condition, expr.Unary) and condition.op in (
        expr.Unary.Op.LOGIC_NOT,
        expr.Unary.Op.BIT_NOT,
    ):
        inner, negated = _condition(condition.operand, clbits)
        if len(inner.clbits) == 1:
            return inner, not negated
    if isinstance(condition, expr.Binary) and condition.op in (
        expr.Binary.Op.EQUAL,
        expr.Binary.Op.NOT_EQUAL,
    ):
        left, right = condition.left, condition.right
        if isinstance(left, expr.Value):
            left, right = right, left
        while isinstance(left, expr.Cast):
            left = left.operand
        if isinstance(left, expr.Var) and isinstance(right, expr.Value):
            var = left.var
            bits = (
                (var,)
                if isinstance(var, Clbit)
                else tuple(var)
                if isinstance(var, ClassicalRegister)
                else None
            )
            if bits is not None:
                value = int(right.value)
                return (
                    Condition(clbits=tuple(clbits[b] for b in bits), value=value),
                    condition.op == expr.Binary.Op.NOT_EQUAL,
                )
    raise CircuitValidationError(
        f"condition {condition} is not supported; dunes reads a classical bit (c[0], !c[0]) or "
        "a register compared with a number (c == 3, c != 3)",
        field="circuit",
    )


def _maps_to_dunes_gate(operation: Any, num_qubits: int) -> bool:
    """Whether a Qiskit operation is a dunes gate or directive with the same arity."""
    op_name = canonical_name(operation.name)
    if op_name is None:
        return False
    if op_name in DIRECTIVES:
        return op_name != "reset" or num_qubits == 1
    gate = GATES[op_name]
    # Qiskit names multi-controlled X 'mcx' whatever the number of controls.
    return num_qubits == gate.num_qubits and len(operation.params) == gate.num_params
