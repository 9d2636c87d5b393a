"""Pauli-string observables: 'ZZII' (qubit 0 rightmost, as Qiskit) or sparse 'Z0 Z3'."""

from __future__ import annotations

import re

from dunes.errors import CircuitValidationError

_SPARSE_TERM = re.compile(r"([IXYZ])(\d+)")


def pauli_label(text: str, num_qubits: int) -> str:
    """Return the dense label (length ``num_qubits``, qubit 0 rightmost) for ``text``.

    Raises:
        CircuitValidationError: names the accepted forms.
    """
    raw = text.strip().upper()
    compact = re.sub(r"[\s*]+", "", raw)
    if compact and set(compact) <= set("IXYZ"):
        if len(compact) != num_qubits:
            raise CircuitValidationError(
                f"observable {text!r} has {len(compact)} Pauli letters; the circuit has "
                f"{num_qubits} qubits (write one letter per qubit, qubit 0 rightmost, or 'Z0 Z3')",
                field="observables",
            )
        return compact
    terms = re.split(r"[\s*]+", raw)
    letters = ["I"] * num_qubits
    for term in terms:
        match = _SPARSE_TERM.fullmatch(term)
        if not match:
            raise CircuitValidationError(
                f"observable {text!r}: cannot read {term!r}; use letters I, X, Y, Z either one per "
                "qubit ('ZZII') or with qubit indices ('Z0 Z3')",
                field="observables",
            )
        qubit = int(match.group(2))
        if qubit >= num_qubits:
            raise CircuitValidationError(
                f"observable {text!r}: qubit {qubit} out of range for {num_qubits} qubits",
                field="observables",
            )
        letters[num_qubits - 1 - qubit] = match.group(1)
    return "".join(letters)
