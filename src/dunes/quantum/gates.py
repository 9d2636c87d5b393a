"""The standard gates dunes accepts, with their arity, and how Qiskit builds each one."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class GateDef:
    """One gate: how many qubits and parameters it takes, and whether it is Clifford."""

    name: str
    num_qubits: int
    num_params: int
    clifford: bool = False
    permutation_or_diagonal: bool = False  # cheap on a statevector: no dense 2x2 mixing
    #: Largest operator Schmidt rank across any cut between its qubits: how much one application
    #: can multiply a matrix product state's bond dimension (2 for controlled and Pauli-rotation
    #: gates, 4 for a swap).
    schmidt_rank: int = 1


def _g(
    name: str, q: int, p: int = 0, *, clifford: bool = False, cheap: bool = False, rank: int = 2
) -> GateDef:
    return GateDef(name, q, p, clifford, cheap, rank if q > 1 else 1)


_DEFS = [
    _g("id", 1, clifford=True, cheap=True),
    _g("x", 1, clifford=True, cheap=True),
    _g("y", 1, clifford=True, cheap=True),
    _g("z", 1, clifford=True, cheap=True),
    _g("h", 1, clifford=True),
    _g("s", 1, clifford=True, cheap=True),
    _g("sdg", 1, clifford=True, cheap=True),
    _g("t", 1, cheap=True),
    _g("tdg", 1, cheap=True),
    _g("sx", 1, clifford=True),
    _g("sxdg", 1, clifford=True),
    _g("rx", 1, 1),
    _g("ry", 1, 1),
    _g("rz", 1, 1, cheap=True),
    _g("p", 1, 1, cheap=True),
    _g("r", 1, 2),
    _g("u", 1, 3),
    _g("u2", 1, 2),
    _g("cx", 2, clifford=True, cheap=True),
    _g("cy", 2, clifford=True, cheap=True),
    _g("cz", 2, clifford=True, cheap=True),
    _g("ch", 2),
    _g("cs", 2, cheap=True),
    _g("csdg", 2, cheap=True),
    _g("csx", 2),
    _g("swap", 2, clifford=True, cheap=True, rank=4),
    _g("iswap", 2, clifford=True, cheap=True, rank=4),
    _g("ecr", 2, clifford=True),
    _g("dcx", 2, clifford=True, cheap=True, rank=4),
    _g("cp", 2, 1, cheap=True),
    _g("crx", 2, 1),
    _g("cry", 2, 1),
    _g("crz", 2, 1, cheap=True),
    _g("rxx", 2, 1),
    _g("ryy", 2, 1),
    _g("rzz", 2, 1, cheap=True),
    _g("rzx", 2, 1),
    _g("cu", 2, 4),
    _g("ccx", 3, cheap=True),
    _g("ccz", 3, cheap=True),
    _g("cswap", 3, cheap=True, rank=4),
    _g("rccx", 3, rank=4),
    _g("c3x", 4, cheap=True),
]

GATES: dict[str, GateDef] = {g.name: g for g in _DEFS}

ALIASES: dict[str, str] = {
    "i": "id",
    "cnot": "cx",
    "phase": "p",
    "u1": "p",
    "u3": "u",
    "cphase": "cp",
    "cu1": "cp",
    "toffoli": "ccx",
    "fredkin": "cswap",
    "mcx": "c3x",
}

#: Non-gate instructions: measure takes (qubit[, clbit]); barrier and reset take qubits.
DIRECTIVES = ("measure", "reset", "barrier")
#: The one classical-control instruction: a condition on classical bits and two blocks.
IF_ELSE = "if_else"


def canonical_name(name: str) -> str | None:
    """The dunes name of a gate or directive, or None when unknown."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key in GATES or key in DIRECTIVES:
        return key
    return None


def known_names() -> list[str]:
    return sorted({*GATES, *ALIASES, *DIRECTIVES})


def suggest(name: str, limit: int = 3) -> list[str]:
    """The nearest known names, for 'did you mean' messages."""
    return difflib.get_close_matches(name.lower(), known_names(), n=limit, cutoff=0.5)


def signature(gate: GateDef) -> str:
    """How the gate is written in seed notation, e.g. ``cp(theta, q0, q1)``."""
    params = ["theta", "phi", "lam", "gamma"][: gate.num_params]
    qubits = [f"q{i}" for i in range(gate.num_qubits)]
    return f"{gate.name}({', '.join(params + qubits)})"
