"""A catalog of circuit families the planner can build, with their ideal states.

``build(family, params)`` returns a ``CircuitSpec``; ``ideal_state(family, params)`` returns the
exact state the circuit prepares from |0...0> (numpy, qubit 0 is the least significant bit, as in
Qiskit) or None when there is no closed form worth checking against (random circuits).

Bitstrings (``marked``, ``secret``, ``basis``) are written as Qiskit prints outcomes: qubit 0 is
the rightmost character, so a measured outcome reads the same as the string that was asked for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from dunes.errors import InvalidInputError
from dunes.quantum.circuit import CircuitSpec, Operation

Params = Mapping[str, Any]

#: Grover's oracle uses an exact parity network whose size grows as n·2^n; keep it reasonable.
GROVER_MAX_QUBITS = 8
#: Ideal states are dense vectors; above this width they are not computed.
IDEAL_MAX_QUBITS = 20


@dataclass(frozen=True)
class Family:
    """One circuit family: how the planner recognises it and what it needs."""

    name: str
    title: str
    description: str
    examples: tuple[str, ...]
    keywords: tuple[str, ...]
    default_qubits: int
    min_qubits: int
    max_qubits: int | None = None
    fixed_qubits: int | None = None
    params: tuple[str, ...] = field(default=())


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "ghz",
            "GHZ state",
            "Greenberger-Horne-Zeilinger state: all qubits maximally entangled, equal "
            "superposition of all zeros and all ones, a cat state",
            (
                "Design a 4-qubit GHZ state",
                "prepare a Greenberger-Horne-Zeilinger state on five qubits",
                "entangle all qubits into a cat state",
                "equal superposition of 000 and 111 with a Hadamard and a CNOT chain",
                "create a multi-qubit maximally entangled state",
            ),
            ("ghz", "greenberger", "horne", "zeilinger", "cat state", "cat-state"),
            default_qubits=3,
            min_qubits=2,
        ),
        Family(
            "bell",
            "Bell state",
            "Bell pair: two qubits maximally entangled, an EPR pair",
            (
                "create a Bell state",
                "make an entangled pair of qubits",
                "prepare an EPR pair",
                "build the Bell pair phi plus with a hadamard and cnot",
                "two-qubit maximally entangled state",
            ),
            ("bell", "epr", "einstein-podolsky-rosen", "entangled pair"),
            default_qubits=2,
            min_qubits=2,
            fixed_qubits=2,
            params=("variant",),
        ),
        Family(
            "w_state",
            "W state",
            "W state: equal superposition of all basis states with exactly one qubit excited",
            (
                "prepare a W state on three qubits",
                "create a 4-qubit W-state",
                "equal superposition of single excitations 001, 010 and 100",
                "a state with exactly one qubit in one, shared evenly",
            ),
            ("w state", "w-state", "wstate", "dicke"),
            default_qubits=3,
            min_qubits=2,
        ),
        Family(
            "qft",
            "quantum Fourier transform",
            "Quantum Fourier transform of a basis state, discrete Fourier transform on amplitudes",
            (
                "apply the quantum Fourier transform to 3 qubits",
                "build a QFT circuit on 5 qubits",
                "Fourier transform of the basis state 101",
                "quantum fourier transformation",
            ),
            ("qft", "fourier"),
            default_qubits=3,
            min_qubits=1,
            params=("basis",),
        ),
        Family(
            "iqft",
            "inverse quantum Fourier transform",
            "Inverse quantum Fourier transform, the adjoint QFT used at the end of phase estimation",
            (
                "apply the inverse quantum Fourier transform to 3 qubits",
                "build an inverse QFT circuit",
                "inverse fourier transform on four qubits",
                "QFT dagger for phase estimation",
            ),
            (
                "inverse qft",
                "iqft",
                "qft dagger",
                "qft†",
                "inverse fourier",
                "inverse quantum fourier",
                "reverse fourier",
                "qft inverse",
                "adjoint qft",
            ),
            default_qubits=3,
            min_qubits=1,
            params=("basis",),
        ),
        Family(
            "grover",
            "Grover search",
            "Grover search: amplitude amplification with an oracle that marks one bitstring "
            "and a diffusion operator, unstructured database search",
            (
                "run Grover's algorithm to find 101",
                "search for the marked item 0110 with amplitude amplification",
                "Grover search on three qubits",
                "find a marked element in an unsorted database",
            ),
            ("grover", "amplitude amplification", "unstructured search", "diffusion operator"),
            default_qubits=3,
            min_qubits=2,
            max_qubits=GROVER_MAX_QUBITS,
            params=("marked",),
        ),
        Family(
            "deutsch_jozsa",
            "Deutsch-Jozsa",
            "Deutsch-Jozsa algorithm: decide whether an oracle function is constant or balanced",
            (
                "Deutsch-Jozsa algorithm with a balanced oracle",
                "decide if a function is constant or balanced with one query",
                "run Deutsch Jozsa on 4 qubits",
            ),
            ("deutsch", "jozsa", "constant or balanced", "balanced oracle", "constant oracle"),
            default_qubits=4,
            min_qubits=2,
            params=("oracle", "secret"),
        ),
        Family(
            "bernstein_vazirani",
            "Bernstein-Vazirani",
            "Bernstein-Vazirani algorithm: recover a hidden secret bitstring with one oracle query",
            (
                "Bernstein-Vazirani with secret 1011",
                "find the hidden string s of a dot product oracle in one query",
                "recover the secret bitstring with Bernstein Vazirani",
            ),
            ("bernstein", "vazirani", "hidden string", "secret string", "hidden bitstring"),
            default_qubits=4,
            min_qubits=2,
            params=("secret",),
        ),
        Family(
            "teleportation",
            "quantum teleportation",
            "Quantum teleportation: send the state of one qubit to another using a shared Bell "
            "pair and corrections",
            (
                "teleport a qubit state from Alice to Bob",
                "quantum teleportation protocol",
                "send an unknown qubit state using entanglement and corrections",
            ),
            ("teleport", "teleportation", "alice", "bob"),
            default_qubits=3,
            min_qubits=3,
            fixed_qubits=3,
            params=("theta", "phi"),
        ),
        Family(
            "random",
            "random circuit",
            "Random circuit of random rotations and CNOT layers for benchmarking",
            (
                "generate a random circuit on 5 qubits",
                "random quantum circuit with depth 10",
                "a randomly generated benchmark circuit",
            ),
            ("random", "randomly", "arbitrary circuit"),
            default_qubits=4,
            min_qubits=1,
            params=("depth", "seed"),
        ),
    )
}


def names() -> list[str]:
    return list(FAMILIES)


def get(family: str) -> Family:
    """The catalog entry for ``family``.

    Raises:
        InvalidInputError: unknown family; the message lists the known ones.
    """
    key = family.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in FAMILIES:
        raise InvalidInputError(
            f"unknown circuit family {family!r}; known: {', '.join(FAMILIES)}", field="family"
        )
    return FAMILIES[key]


def resolve_qubits(family: str, params: Params) -> int:
    """The qubit count the family will use for ``params`` (checked against its limits).

    Raises:
        InvalidInputError: the count is outside what the family accepts.
    """
    fam = get(family)
    if fam.fixed_qubits is not None:
        return fam.fixed_qubits
    if fam.name in ("bernstein_vazirani", "deutsch_jozsa") and params.get("secret"):
        return len(str(params["secret"])) + 1
    if fam.name in ("qft", "iqft") and params.get("basis") and not params.get("num_qubits"):
        return len(str(params["basis"]))
    if fam.name == "grover" and params.get("marked") and not params.get("num_qubits"):
        return len(str(params["marked"]))
    n = int(params.get("num_qubits") or fam.default_qubits)
    if n < fam.min_qubits or (fam.max_qubits is not None and n > fam.max_qubits):
        top = f"..{fam.max_qubits}" if fam.max_qubits is not None else " or more"
        raise InvalidInputError(
            f"{fam.title} takes {fam.min_qubits}{top} qubits; got {n}", field="num_qubits"
        )
    return n


def _bits(value: Any, width: int, what: str) -> str:
    text = str(value).strip().strip("|>⟩'\"")
    if not text or set(text) - {"0", "1"}:
        raise InvalidInputError(f"{what} must be a bitstring of 0 and 1; got {value!r}", field=what)
    if len(text) > width:
        raise InvalidInputError(
            f"{what} {text!r} has {len(text)} bits but the circuit has {width} qubits for it",
            field=what,
        )
    return text.zfill(width)


def _bit(bits: str, qubit: int) -> int:
    """Bit of ``qubit`` in a Qiskit-ordered string (qubit 0 rightmost)."""
    return int(bits[len(bits) - 1 - qubit])


def _op(name: str, *qubits: int, params: tuple[float, ...] = ()) -> Operation:
    return Operation(name=name, qubits=qubits, params=params)


# --- builders -------------------------------------------------------------------------------


def _ghz(n: int, _: Params) -> list[Operation]:
    return [_op("h", 0), *(_op("cx", i, i + 1) for i in range(n - 1))]


BELL_VARIANTS = ("phi+", "phi-", "psi+", "psi-")


def _bell_variant(params: Params) -> str:
    variant = (
        str(params.get("variant") or "phi+").lower().replace("plus", "+").replace("minus", "-")
    )
    variant = variant.replace("Φ", "phi").replace("ψ", "psi").replace(" ", "")
    if variant not in BELL_VARIANTS:
        raise InvalidInputError(
            f"Bell variant {params.get('variant')!r} unknown; use one of {', '.join(BELL_VARIANTS)}",
            field="variant",
        )
    return variant


def _bell(_: int, params: Params) -> list[Operation]:
    variant = _bell_variant(params)
    ops = []
    if variant.startswith("psi"):
        ops.append(_op("x", 1))
    if variant.endswith("-"):
        ops.append(_op("x", 0))
    return [*ops, _op("h", 0), _op("cx", 0, 1)]


def _w(n: int, _: Params) -> list[Operation]:
    ops = [_op("x", 0)]
    for i in range(n - 1):
        # keep amplitude sqrt(1/(n-i)) on qubit i, move the rest on to qubit i+1
        theta = 2 * math.acos(math.sqrt(1 / (n - i)))
        ops += [_op("cry", i, i + 1, params=(theta,)), _op("cx", i + 1, i)]
    return ops


def _prepare_basis(n: int, params: Params) -> list[Operation]:
    basis = params.get("basis")
    if not basis:
        return []
    bits = _bits(basis, n, "basis")
    return [_op("x", q) for q in range(n) if _bit(bits, q)]


def _qft_ops(n: int) -> list[Operation]:
    ops: list[Operation] = []
    for j in reversed(range(n)):
        ops.append(_op("h", j))
        for k in reversed(range(j)):
            ops.append(_op("cp", k, j, params=(math.pi / 2 ** (j - k),)))
    ops += [_op("swap", i, n - 1 - i) for i in range(n // 2)]
    return ops


def _inverse(ops: list[Operation]) -> list[Operation]:
    inverse = []
    for op in reversed(ops):
        if op.name in ("cp", "p", "rz", "rx", "ry", "cry"):
            inverse.append(op.model_copy(update={"params": tuple(-p for p in op.params)}))
        elif op.name in ("h", "x", "cx", "cz", "swap", "z", "ccz"):
            inverse.append(op)
        else:  # pragma: no cover - only used on QFT gates
            raise ValueError(f"no inverse for {op.name}")
    return inverse


def _qft(n: int, params: Params) -> list[Operation]:
    return _prepare_basis(n, params) + _qft_ops(n)


def _iqft(n: int, params: Params) -> list[Operation]:
    return _prepare_basis(n, params) + _inverse(_qft_ops(n))


def _mcz(qubits: list[int]) -> list[Operation]:
    """Phase -1 on |1...1> of ``qubits``, exactly: native gates up to 3, else a parity network.

    x1·x2·...·xn = 2^(1-n) Σ_S (-1)^(|S|+1) parity(S) over non-empty subsets S, so a phase of pi
    on the product is a phase of ±pi/2^(n-1) on each subset's parity.
    """
    n = len(qubits)
    if n == 1:
        return [_op("z", qubits[0])]
    if n == 2:
        return [_op("cz", *qubits)]
    if n == 3:
        return [_op("ccz", *qubits)]
    ops: list[Operation] = []
    for size in range(1, n + 1):
        angle = (1 if size % 2 else -1) * math.pi / 2 ** (n - 1)
        for subset in combinations(qubits, size):
            target = subset[-1]
            chain = [_op("cx", q, target) for q in subset[:-1]]
            ops += [*chain, _op("p", target, params=(angle,)), *reversed(chain)]
    return ops


def grover_iterations(n: int) -> int:
    return max(1, math.floor(math.pi / 4 * math.sqrt(2**n)))


def _grover(n: int, params: Params) -> list[Operation]:
    marked = _bits(params.get("marked") or "1" * n, n, "marked")
    everything = list(range(n))
    flips = [_op("x", q) for q in everything if not _bit(marked, q)]
    oracle = [*flips, *_mcz(everything), *flips]
    all_x = [_op("x", q) for q in everything]
    all_h = [_op("h", q) for q in everything]
    diffusion = [*all_h, *all_x, *_mcz(everything), *all_x, *all_h]
    ops = list(all_h)
    for _ in range(grover_iterations(n)):
        ops += oracle + diffusion
    return ops


def _oracle_secret(n: int, params: Params, default: str) -> str:
    return _bits(params.get("secret") or default, n - 1, "secret")


def _dj(n: int, params: Params) -> list[Operation]:
    oracle = str(params.get("oracle") or "balanced").lower()
    if oracle not in ("balanced", "constant", "constant0", "constant1"):
        raise InvalidInputError(
            f"Deutsch-Jozsa oracle {oracle!r} unknown; use balanced or constant", field="oracle"
        )
    inputs = list(range(n - 1))
    ancilla = n - 1
    ops = [_op("x", ancilla), *(_op("h", q) for q in range(n))]
    if oracle == "balanced":
        secret = _oracle_secret(n, params, "1" * (n - 1))
        if "1" not in secret:
            raise InvalidInputError(
                "a balanced Deutsch-Jozsa oracle needs a secret with at least one 1",
                field="secret",
            )
        ops += [_op("cx", q, ancilla) for q in inputs if _bit(secret, q)]
    elif oracle == "constant1":
        ops.append(_op("x", ancilla))
    return ops + [_op("h", q) for q in inputs]


def _bv(n: int, params: Params) -> list[Operation]:
    secret = _oracle_secret(n, params, "1" * (n - 1))
    ancilla = n - 1
    ops = [_op("x", ancilla), *(_op("h", q) for q in range(n))]
    ops += [_op("cx", q, ancilla) for q in range(n - 1) if _bit(secret, q)]
    return ops + [_op("h", q) for q in range(n - 1)]


TELEPORT_THETA = math.pi / 3
TELEPORT_PHI = math.pi / 4


def _teleport(_: int, params: Params) -> list[Operation]:
    theta = float(params.get("theta", TELEPORT_THETA))
    phi = float(params.get("phi", TELEPORT_PHI))
    prepare = [_op("ry", 0, params=(theta,)), _op("rz", 0, params=(phi,))]
    bell = [_op("h", 1), _op("cx", 1, 2)]
    measure_basis = [_op("cx", 0, 1), _op("h", 0)]
    # deferred measurement: the classically controlled X and Z become controlled gates
    corrections = [_op("cx", 1, 2), _op("cz", 0, 2)]
    return prepare + bell + measure_basis + corrections


def _random(n: int, params: Params) -> list[Operation]:
    depth = int(5 if params.get("depth") is None else params["depth"])
    if depth < 1:
        raise InvalidInputError(f"random circuit depth must be >= 1; got {depth}", field="depth")
    rng = np.random.default_rng(params.get("seed"))
    ops: list[Operation] = []
    for _ in range(depth):
        for q in range(n):
            gate = ("rx", "ry", "rz")[int(rng.integers(3))]
            ops.append(_op(gate, q, params=(float(rng.uniform(0, 2 * math.pi)),)))
        order = [int(q) for q in rng.permutation(n)]
        ops += [_op("cx", order[i], order[i + 1]) for i in range(0, n - 1, 2)]
    return ops


_BUILDERS: dict[str, Callable[[int, Params], list[Operation]]] = {
    "ghz": _ghz,
    "bell": _bell,
    "w_state": _w,
    "qft": _qft,
    "iqft": _iqft,
    "grover": _grover,
    "deutsch_jozsa": _dj,
    "bernstein_vazirani": _bv,
    "teleportation": _teleport,
    "random": _random,
}


def build(family: str, params: Params | None = None) -> CircuitSpec:
    """Build the family's circuit for ``params`` (num_qubits, marked, secret, basis, ...).

    Raises:
        InvalidInputError: unknown family or a parameter it cannot use.
    """
    params = dict(params or {})
    fam = get(family)
    n = resolve_qubits(fam.name, params)
    return CircuitSpec(
        num_qubits=n, operations=tuple(_BUILDERS[fam.name](n, params)), name=fam.name
    )


# --- ideal states ---------------------------------------------------------------------------


def _fourier(n: int, params: Params, sign: int) -> np.ndarray:
    basis = params.get("basis")
    j = int(_bits(basis, n, "basis"), 2) if basis else 0
    k = np.arange(2**n)
    state: np.ndarray = np.exp(sign * 2j * math.pi * j * k / 2**n) / math.sqrt(2**n)
    return state


def _minus_on_top(n: int, low_index: int) -> np.ndarray:
    """|-> on qubit n-1 times the basis state ``low_index`` on the others."""
    state = np.zeros(2**n, dtype=complex)
    state[low_index] = 1 / math.sqrt(2)
    state[low_index + 2 ** (n - 1)] = -1 / math.sqrt(2)
    return state


def ideal_state(family: str, params: Params | None = None) -> np.ndarray | None:
    """The exact state ``build(family, params)`` prepares, or None (random, or too wide)."""
    params = dict(params or {})
    fam = get(family)
    n = resolve_qubits(fam.name, params)
    if n > IDEAL_MAX_QUBITS or fam.name == "random":
        return None
    size = 2**n
    match fam.name:
        case "ghz":
            state = np.zeros(size, dtype=complex)
            state[0] = state[-1] = 1 / math.sqrt(2)
            return state
        case "bell":
            variant = _bell_variant(params)
            sign = -1 if variant.endswith("-") else 1
            low, high = (1, 2) if variant.startswith("psi") else (0, 3)
            state = np.zeros(4, dtype=complex)
            state[low], state[high] = 1 / math.sqrt(2), sign / math.sqrt(2)
            return state
        case "w_state":
            state = np.zeros(size, dtype=complex)
            for q in range(n):
                state[1 << q] = 1 / math.sqrt(n)
            return state
        case "qft":
            return _fourier(n, params, +1)
        case "iqft":
            return _fourier(n, params, -1)
        case "grover":
            marked = int(_bits(params.get("marked") or "1" * n, n, "marked"), 2)
            angle = math.asin(1 / math.sqrt(size))
            turns = 2 * grover_iterations(n) + 1
            state = np.full(size, math.cos(turns * angle) / math.sqrt(size - 1), dtype=complex)
            state[marked] = math.sin(turns * angle)
            return state
        case "deutsch_jozsa":
            oracle = str(params.get("oracle") or "balanced").lower()
            balanced = oracle == "balanced"
            low = int(_oracle_secret(n, params, "1" * (n - 1)), 2) if balanced else 0
            state = _minus_on_top(n, low)
            return -state if oracle == "constant1" else state
        case "bernstein_vazirani":
            return _minus_on_top(n, int(_oracle_secret(n, params, "1" * (n - 1)), 2))
        case "teleportation":
            theta = float(params.get("theta", TELEPORT_THETA))
            phi = float(params.get("phi", TELEPORT_PHI))
            psi = np.array(
                [
                    math.cos(theta / 2) * np.exp(-0.5j * phi),
                    math.sin(theta / 2) * np.exp(0.5j * phi),
                ]
            )
            plus = np.array([1, 1]) / math.sqrt(2)
            return np.kron(psi, np.kron(plus, plus)).astype(complex)
    return None  # pragma: no cover


def fidelity(state: np.ndarray, ideal: np.ndarray) -> float:
    """|<ideal|state>|^2 for normalised states (global phase ignored)."""
    return float(abs(np.vdot(ideal, state)) ** 2)
