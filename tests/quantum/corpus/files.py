"""The OpenQASM corpus on disk and how Qiskit itself loads it (the reference reading)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import qiskit.qasm2
import qiskit.qasm3
from qiskit import QuantumCircuit
from qiskit.circuit import ControlFlowOp, Instruction

HERE = Path(__file__).parent
VALID_DIR = HERE / "qasm"
INVALID_DIR = HERE / "qasm_invalid"
SUFFIXES = (".qasm", ".qasm3")

_BOM = "\ufeff"
_VERSION = re.compile(r"^\s*(?://[^\n]*\n\s*|/\*.*?\*/\s*)*OPENQASM\s+(\d+)", re.DOTALL)


def qasm_files() -> list[Path]:
    """Every valid corpus file, sorted by name."""
    return sorted(path for path in VALID_DIR.iterdir() if path.suffix in SUFFIXES)


def invalid_files() -> list[tuple[Path, str, int | None]]:
    """Every broken corpus file with the substring its error should contain and the line."""
    expected = json.loads((INVALID_DIR / "EXPECTED.json").read_text(encoding="utf-8"))
    return [
        (INVALID_DIR / name, entry["contains"], entry["line"])
        for name, entry in sorted(expected.items())
    ]


def qasm_version(text: str, suffix: str) -> int:
    """The OpenQASM major version a file declares, else the one its suffix implies."""
    match = _VERSION.match(text.removeprefix(_BOM))
    if match:
        return int(match.group(1))
    return 3 if suffix == ".qasm3" else 2


def load_with_qiskit(path: Path) -> QuantumCircuit:
    """Load a corpus file with Qiskit's own importers.

    Fix-ups applied before Qiskit sees the text: the file is decoded as UTF-8 and a leading
    byte-order mark is dropped (both importers reject it); the version line, not the suffix, picks
    the importer (a ``.qasm`` file that says OpenQASM 3 goes to the OpenQASM 3 one) and any other
    version is refused with ``ValueError``. After loading, a gate with neither a definition nor a
    matrix (an ``opaque`` declaration that is used) is refused with ``ValueError``, since nothing
    can simulate it.
    """
    text = path.read_bytes().decode("utf-8").removeprefix(_BOM)
    version = qasm_version(text, path.suffix)
    if version == 3:
        circuit = qiskit.qasm3.loads(text)
    elif version == 2:
        circuit = qiskit.qasm2.loads(
            text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS
        )
    else:
        raise ValueError(f"OpenQASM version {version} is not supported")
    for instruction in circuit.data:
        _refuse_opaque(instruction.operation)
    return circuit


def _refuse_opaque(operation: Instruction) -> None:
    """Raise if ``operation`` (or anything in its blocks) is a gate nothing can simulate."""
    if isinstance(operation, ControlFlowOp):
        for block in operation.blocks:
            for instruction in block.data:
                _refuse_opaque(instruction.operation)
        return
    if operation.name in {"measure", "reset", "barrier", "delay"}:
        return
    if operation.definition is not None:
        return
    try:
        operation.to_matrix()
    except Exception as exc:
        raise ValueError(f"opaque gate {operation.name!r} has no definition") from exc
