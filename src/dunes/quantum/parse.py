"""Circuits in: seed notation, OpenQASM 2, OpenQASM 3 and JSON gate lists, all to CircuitSpec.

The notation is told from the text itself (its first statements) and, for files, from the
extension; when a text reads as none of them, the error says what each attempt expected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal

from dunes.errors import CircuitSyntaxError, CircuitValidationError
from dunes.quantum.circuit import MAX_CIRCUIT_QUBITS, CircuitSpec
from dunes.quantum.json_gates import parse_json_value
from dunes.quantum.qasm import from_qiskit, parse_qasm
from dunes.quantum.seed import parse_seed

__all__ = ["CircuitFormat", "detect_format", "from_qiskit", "parse_circuit", "parse_seed"]

CircuitFormat = Literal["auto", "seed", "qasm2", "qasm3", "json"]
Notation = Literal["seed", "qasm2", "qasm3", "json"]

#: File extensions that name a notation.
SUFFIX_FORMATS: dict[str, Notation] = {
    ".qasm": "qasm2",
    ".qasm2": "qasm2",
    ".qasm3": "qasm3",
    ".json": "json",
}
_LABELS: dict[Notation, str] = {
    "seed": "seed notation",
    "qasm2": "OpenQASM 2",
    "qasm3": "OpenQASM 3",
    "json": "JSON",
}
_COMMENT = re.compile(r"\s*(?://[^\n]*|#[^\n]*|/\*.*?\*/)", re.DOTALL)
_VERSION = re.compile(r"OPENQASM\s+(\d+)")
#: Statements only OpenQASM 3 has; seen anywhere, the text is OpenQASM 3.
_QASM3_ONLY = re.compile(
    r'include\s+"stdgates\.inc"|^\s*(?:qubit|bit)\s*(?:\[|\s+\w)|=\s*measure\b|^\s*(?:const|input)\s'
    r"|\b(?:ctrl|negctrl|inv|pow)\s*(?:\([^)]*\))?\s*@",
    re.MULTILINE,
)
#: Statements OpenQASM 2 and 3 share but seed notation never has.
_QASM_ANY = re.compile(
    r'^\s*(?:include\s+"|qreg\s|creg\s|gate\s+\w|opaque\s|measure\s+\w+(?:\[\d+\])?\s*->)'
    r"|^\s*\w+(?:\([^)]*\))?\s+\w+\s*\[\s*\d+\s*\]\s*[,;]",
    re.MULTILINE,
)


def detect_format(text: str, *, suffix: str | None = None) -> Notation:
    """The notation of ``text``: its version line, its statements, then a file's ``suffix``."""
    guess, _ = _detect(text, suffix=suffix)
    return guess


def _detect(text: str, *, suffix: str | None) -> tuple[Notation, bool]:
    """(notation, sure): not sure means seed notation was the fallback."""
    head = _strip_leading_comments(text)
    if head.startswith(("[", "{")):
        return "json", True
    version = _VERSION.match(head)
    if version:
        if version.group(1) not in ("2", "3"):
            line = text[: text.find(version.group())].count("\n") + 1
            raise CircuitSyntaxError(
                f"OPENQASM {version.group(1)}: unsupported version; dunes reads OpenQASM 2 and 3",
                line=line,
                column=1,
            )
        return ("qasm3" if version.group(1) == "3" else "qasm2"), True
    named = SUFFIX_FORMATS.get((suffix or "").lower())
    if _QASM3_ONLY.search(text):
        return "qasm3", True
    if _QASM_ANY.search(text):
        return (named if named in ("qasm2", "qasm3") else "qasm2"), True
    if named is not None:
        return named, True
    return "seed", False


def _strip_leading_comments(text: str) -> str:
    rest = text.removeprefix("\ufeff")
    while True:
        match = _COMMENT.match(rest)
        if not match or not match.group().strip():
            return rest.lstrip()
        rest = rest[match.end() :]


def parse_circuit(
    source: str | Sequence[Any] | dict[str, Any],
    *,
    num_qubits: int | None = None,
    fmt: CircuitFormat = "auto",
    name: str | None = None,
    suffix: str | None = None,
) -> CircuitSpec:
    """Parse any accepted notation into a validated CircuitSpec.

    ``suffix`` is the extension of the file the text came from (``.qasm``, ``.qasm3``, ...).

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
        return parse_json_value(source, num_qubits=num_qubits, name=name)
    if fmt != "auto":
        return _parse_as(fmt, source, num_qubits=num_qubits, name=name)
    notation, sure = _detect(source, suffix=suffix)
    if sure:
        return _parse_as(notation, source, num_qubits=num_qubits, name=name)
    try:
        return parse_seed(source, num_qubits=num_qubits, name=name)
    except CircuitSyntaxError as seed_error:
        return _other_notations(source, seed_error, num_qubits=num_qubits, name=name)


def _parse_as(
    notation: Notation, text: str, *, num_qubits: int | None, name: str | None
) -> CircuitSpec:
    if notation == "json":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CircuitSyntaxError(
                f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno
            ) from exc
        return parse_json_value(value, num_qubits=num_qubits, name=name)
    if notation in ("qasm2", "qasm3"):
        return parse_qasm(text, notation, num_qubits=num_qubits, name=name)
    return parse_seed(text, num_qubits=num_qubits, name=name)


def _other_notations(
    text: str, seed_error: CircuitSyntaxError, *, num_qubits: int | None, name: str | None
) -> CircuitSpec:
    """Try OpenQASM 2 and 3 on a text that is not seed notation; else name every attempt."""
    attempts: list[str] = []
    for notation in ("qasm2", "qasm3"):
        try:
            return parse_qasm(text, notation, num_qubits=num_qubits, name=name)
        except (CircuitSyntaxError, CircuitValidationError) as exc:
            attempts.append(f"as {_LABELS[notation]}: {exc.message.splitlines()[0]}")
    raise CircuitSyntaxError(
        f"{seed_error.detail} (read as seed notation, e.g. 'h(0); cx(0,1)'; {'; '.join(attempts)})",
        line=seed_error.line,
        column=seed_error.column,
    ) from seed_error
