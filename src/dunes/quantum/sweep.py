"""Parameter sweeps: one circuit with symbolic parameters, simulated for every binding at once.

A ``ParametricCircuit`` is read once (seed notation ``ry(theta, 0)``, OpenQASM 3 ``input float[64]
theta;``, JSON ``"params": ["theta"]``, or a Qiskit circuit with ``Parameter``s). The batched
statevector kernel then holds B states in one array and applies each gate to all of them at once:
a gate whose angles depend on the parameters gets one matrix per binding, consecutive
single-qubit gates on a qubit are fused into one matrix first, and the bindings go through in
chunks that fit ``memory_bytes``. Nothing is parsed, transpiled or built per binding.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import numpy as np

from dunes.errors import CircuitSyntaxError, CircuitValidationError, InsufficientMemoryError
from dunes.quantum.circuit import MAX_CIRCUIT_QUBITS
from dunes.quantum.gates import DIRECTIVES, GATES, canonical_name, signature, suggest
from dunes.quantum.observables import pauli_label
from dunes.quantum.parameters import Expr, as_array, number, parse_expr
from dunes.quantum.parse import detect_format

#: The most qubits the batched statevector holds (2**n amplitudes per binding).
MAX_SWEEP_QUBITS = 26
#: Default memory for one chunk of states (and its working copies).
DEFAULT_MEMORY_BYTES = 1 << 29
#: From this many qubits a CPU sweep goes to Aer's own parameter binding (one transpile, one
#: run): its per-state kernel keeps a 2**14-amplitude state in cache, where the batched kernel
#: streams every binding through memory (bench/sweep.py: batched 3-5x Aer at 10 qubits, 0.5-0.9x
#: at 16).
AER_FROM_QUBITS = 14
#: States per chunk are also kept near this size: a chunk that stays in the CPU's caches
#: through a gate's passes runs 2x faster than one streamed from memory (bench/sweep.py, n=16).
CACHE_BYTES = 16 << 20
#: Bindings per call of the progress callback, at most.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Gate:
    """One gate of a parametric circuit; ``params`` may name parameters."""

    name: str
    qubits: tuple[int, ...]
    params: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class ParametricCircuit:
    """A circuit whose gate angles may be expressions over named parameters."""

    num_qubits: int
    gates: tuple[Gate, ...]
    measured: tuple[int, ...] = ()

    @property
    def parameters(self) -> tuple[str, ...]:
        """The parameter names, sorted."""
        return tuple(sorted({n for g in self.gates for p in g.params for n in p.names}))

    def bind(self, values: Mapping[str, float]) -> Any:
        """The circuit for one binding, as a ``CircuitSpec`` (for Aer and the other engines)."""
        from dunes.quantum.circuit import Operation
        from dunes.quantum.statements import make_spec

        ops = [
            Operation(
                name=g.name,
                qubits=g.qubits,
                params=tuple(float(p.evaluate(values)) for p in g.params),
            )
            for g in self.gates
        ]
        ops += [Operation(name="measure", qubits=(q,), clbits=(q,)) for q in self.measured]
        return make_spec(self.num_qubits, self.num_qubits if self.measured else 0, ops, None)


# --- reading -----------------------------------------------------------------------------------


def parse_parametric(
    source: str | Sequence[Any] | Any, *, num_qubits: int | None = None
) -> ParametricCircuit:
    """Read a parametric circuit from seed notation, OpenQASM 3, JSON, or a Qiskit circuit.

    Raises:
        CircuitSyntaxError / CircuitValidationError: names what is wrong and where.
    """
    if not isinstance(source, str) and hasattr(source, "data") and hasattr(source, "qubits"):
        return _from_qiskit(source, num_qubits)
    if not isinstance(source, str):
        return _from_json(source, num_qubits)
    text = source.strip()
    if text.startswith(("[", "{")):
        try:
            return _from_json(json.loads(text), num_qubits)
        except json.JSONDecodeError as exc:
            raise CircuitSyntaxError(f"JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from exc
    notation = detect_format(text)
    if notation in ("qasm2", "qasm3"):
        from dunes.quantum.qasm import load_qasm

        return _from_qiskit(load_qasm(text, notation), num_qubits)
    return _from_seed(text, num_qubits)


def _from_seed(text: str, num_qubits: int | None) -> ParametricCircuit:
    from dunes.quantum.seed import _Reader
    from dunes.quantum.statements import read_index

    gates: list[Gate] = []
    measured: list[int] = []
    for statement in _Reader(text).block(closing=None):
        place = statement.place
        if statement.condition is not None:
            raise place.rule("a sweep runs gates only: if/else is not supported here")
        name = canonical_name(statement.name)
        if name is None:
            near = suggest(statement.name)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise place.syntax(f"unknown gate {statement.name!r}{hint}")
        args = statement.args
        if name == "barrier":
            continue
        if name == "measure":
            targets = [read_index(a.text, a.place, "a qubit index") for a in args[:1]]
            measured += targets or [-1]
            continue
        if name in DIRECTIVES:
            raise place.rule(f"a sweep runs gates and final measurements; {name} is not one")
        if measured:
            raise place.rule("a sweep measures at the end only: no gate may follow a measure")
        gate = GATES[name]
        if len(args) != gate.num_params + gate.num_qubits:
            raise place.syntax(
                f"gate {statement.name!r} takes {gate.num_params} parameter(s) and "
                f"{gate.num_qubits} qubit(s), written {signature(gate)}; got {len(args)} argument(s)"
            )
        params: list[Expr] = []
        for arg in args[: gate.num_params]:
            try:
                params.append(parse_expr(arg.text))
            except CircuitSyntaxError as exc:
                raise arg.place.syntax(exc.message) from exc
        qubits = tuple(
            read_index(a.text, a.place, "a qubit index") for a in args[gate.num_params :]
        )
        gates.append(Gate(name, qubits, tuple(params)))
    return _finish(gates, measured, num_qubits)


def _from_json(value: Any, num_qubits: int | None) -> ParametricCircuit:
    items = value.get("gates") if isinstance(value, dict) else value
    if isinstance(value, dict) and num_qubits is None and isinstance(value.get("num_qubits"), int):
        num_qubits = value["num_qubits"]
    if not isinstance(items, list) or not items:
        raise CircuitValidationError(
            'JSON circuits are a list of gates: [{"gate": "ry", "qubits": [0], "params": '
            '["theta"]}, ...]',
            field="circuit",
        )
    gates: list[Gate] = []
    measured: list[int] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("gate"), str):
            raise CircuitValidationError(f"gate {i}: give an object with 'gate'", field="circuit")
        name = canonical_name(item["gate"])
        qubits = item.get("qubits", [])
        if (
            name is None
            or not isinstance(qubits, list)
            or not all(isinstance(q, int) and 0 <= q < MAX_CIRCUIT_QUBITS for q in qubits)
        ):
            raise CircuitValidationError(
                f"gate {i}: {item.get('gate')!r} with qubits {qubits!r} is not a known gate on "
                "non-negative qubit indices",
                field="circuit",
            )
        if name == "barrier":
            continue
        if name == "measure":
            measured += qubits or [-1]
            continue
        if name in DIRECTIVES or name not in GATES:
            raise CircuitValidationError(f"gate {i}: a sweep runs gates only", field="circuit")
        raw = item.get("params", [])
        if not isinstance(raw, list) or len(raw) != GATES[name].num_params:
            raise CircuitValidationError(
                f"gate {i}: {name} takes {GATES[name].num_params} parameter(s)", field="circuit"
            )
        params = tuple(parse_expr(p) if isinstance(p, str) else number(_real(p, i)) for p in raw)
        if len(qubits) != GATES[name].num_qubits:
            raise CircuitValidationError(
                f"gate {i}: {name} acts on {GATES[name].num_qubits} qubit(s)", field="circuit"
            )
        gates.append(Gate(name, tuple(qubits), params))
    return _finish(gates, measured, num_qubits)


def _real(value: Any, index: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CircuitValidationError(
            f"gate {index}: a parameter is a number or an expression such as '2*theta'",
            field="circuit",
        )
    return float(value)


def _from_qiskit(circuit: Any, num_qubits: int | None) -> ParametricCircuit:
    from dunes.quantum.qasm import check_expansion

    check_expansion(circuit)
    index = {bit: i for i, bit in enumerate(circuit.qubits)}
    gates: list[Gate] = []
    measured: list[int] = []

    def walk(qc: Any, qubits: dict[Any, int], depth: int) -> None:
        for inst in qc.data:
            op = inst.operation
            targets = tuple(qubits[q] for q in inst.qubits)
            name = canonical_name(op.name)
            if op.name == "barrier":
                continue
            if op.name == "measure":
                measured.extend(targets)
                continue
            if name in GATES and len(targets) == GATES[name].num_qubits:
                params = tuple(_qiskit_param(p) for p in op.params)
                gates.append(Gate(name, targets, params))
                continue
            definition = getattr(op, "definition", None)
            if definition is None or depth > 16 or getattr(op, "blocks", None):
                raise CircuitValidationError(
                    f"a sweep runs standard gates; {op.name} is not one", field="circuit"
                )
            inner = {bit: targets[i] for i, bit in enumerate(definition.qubits)}
            walk(definition, inner, depth + 1)

    walk(circuit, index, 0)
    return _finish(gates, measured, num_qubits or circuit.num_qubits)


def _qiskit_param(value: Any) -> Expr:
    if isinstance(value, int | float):
        return number(float(value))
    text = str(value)
    try:
        return parse_expr(text)
    except CircuitSyntaxError as exc:
        raise CircuitValidationError(
            f"parameter expression {text!r}: dunes sweeps take + - * / ** of parameters",
            field="circuit",
        ) from exc


def _finish(gates: list[Gate], measured: list[int], num_qubits: int | None) -> ParametricCircuit:
    if not gates:
        raise CircuitValidationError(
            "empty circuit: a sweep needs at least one gate", field="circuit"
        )
    used = max(q for g in gates for q in g.qubits) + 1
    width = num_qubits or used
    if width < used:
        raise CircuitValidationError(
            f"circuit uses {used} qubits but num_qubits={num_qubits}", field="num_qubits"
        )
    if width > MAX_SWEEP_QUBITS:
        raise CircuitValidationError(
            f"a sweep holds 2**n amplitudes per binding; {width} qubits is above the "
            f"{MAX_SWEEP_QUBITS} the batched statevector takes",
            field="circuit",
        )
    if -1 in measured:  # a bare measure: every qubit
        measured = list(range(width))
    for g in gates:
        if len(set(g.qubits)) != len(g.qubits):
            raise CircuitValidationError(f"{g.name}: the same qubit appears twice", field="circuit")
    return ParametricCircuit(width, tuple(gates), tuple(sorted(set(measured))))


# --- gate matrices -----------------------------------------------------------------------------

_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_Z = np.diag([1.0, -1.0]).astype(complex)


def _exp_pauli(theta: np.ndarray, generator: np.ndarray) -> np.ndarray:
    """exp(-i theta/2 G) for an involutory G, one matrix per angle: cos I - i sin G."""
    c = np.cos(theta / 2)[:, None, None]
    s = np.sin(theta / 2)[:, None, None]
    eye = np.eye(generator.shape[0], dtype=complex)
    result: np.ndarray = c * eye - 1j * s * generator
    return result


def _controlled(target: np.ndarray, phase: np.ndarray | None = None) -> np.ndarray:
    """Control on the first qubit (bit 0 of the index), ``target`` on the second."""
    b = target.shape[0]
    out = np.zeros((b, 4, 4), dtype=complex)
    out[:, 0, 0] = out[:, 2, 2] = 1.0
    scale = 1.0 if phase is None else np.exp(1j * phase)[:, None, None]
    block = target * scale
    out[:, 1, 1], out[:, 1, 3] = block[:, 0, 0], block[:, 0, 1]
    out[:, 3, 1], out[:, 3, 3] = block[:, 1, 0], block[:, 1, 1]
    return out


def _u(theta: np.ndarray, phi: np.ndarray, lam: np.ndarray) -> np.ndarray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    out = np.empty((theta.size, 2, 2), dtype=complex)
    out[:, 0, 0] = c
    out[:, 0, 1] = -np.exp(1j * lam) * s
    out[:, 1, 0] = np.exp(1j * phi) * s
    out[:, 1, 1] = np.exp(1j * (phi + lam)) * c
    return out


def _diag(*entries: np.ndarray) -> np.ndarray:
    out = np.zeros((entries[0].size, len(entries), len(entries)), dtype=complex)
    for i, value in enumerate(entries):
        out[:, i, i] = value
    return out


#: Matrices of the parametric gates, one per binding (index bit 0 = the gate's first qubit).
PARAMETRIC: dict[str, Callable[..., np.ndarray]] = {
    "rx": lambda t: _exp_pauli(t, _X),
    "ry": lambda t: _exp_pauli(t, _Y),
    "rz": lambda t: _diag(np.exp(-0.5j * t), np.exp(0.5j * t)),
    "p": lambda t: _diag(np.ones_like(t, dtype=complex), np.exp(1j * t)),
    "r": lambda t, f: _u(t, f - math.pi / 2, -f + math.pi / 2),
    "u": _u,
    "u2": lambda f, lam: _u(np.full_like(f, math.pi / 2), f, lam),
    "cp": lambda t: _diag(*(np.ones_like(t, dtype=complex),) * 3, np.exp(1j * t)),
    "crx": lambda t: _controlled(_exp_pauli(t, _X)),
    "cry": lambda t: _controlled(_exp_pauli(t, _Y)),
    "crz": lambda t: _controlled(_diag(np.exp(-0.5j * t), np.exp(0.5j * t))),
    "rxx": lambda t: _exp_pauli(t, np.kron(_X, _X)),
    "ryy": lambda t: _exp_pauli(t, np.kron(_Y, _Y)),
    "rzz": lambda t: _exp_pauli(t, np.kron(_Z, _Z)),
    "rzx": lambda t: _exp_pauli(t, np.kron(_X, _Z)),
    "cu": lambda t, f, lam, g: _controlled(_u(t, f, lam), g),
}


@cache
def fixed_matrix(name: str) -> np.ndarray:
    """The matrix of a gate without parameters, as Qiskit defines it (index bit 0 = first qubit)."""
    from qiskit.quantum_info import Operator

    from dunes.quantum.circuit import Operation
    from dunes.quantum.statements import make_spec

    width = GATES[name].num_qubits
    spec = make_spec(width, 0, [Operation(name=name, qubits=tuple(range(width)))], None)
    matrix: np.ndarray = Operator(spec.to_qiskit()).data
    return matrix


# --- the batched kernel ------------------------------------------------------------------------


def _apply(states: Any, n: int, qubits: tuple[int, ...], matrix: np.ndarray) -> None:
    """Apply ``matrix`` ((d, d), or (B, d, d): one per state) to ``qubits`` of every state.

    ``states`` is a torch tensor (2**n, B): the bindings are the fastest axis, so that every
    slice a gate touches is contiguous and a per-binding entry broadcasts along it; torch runs
    each elementwise step on all cores (or the GPU).
    """
    import torch

    batch = states.shape[1]
    view = states.view((2,) * n + (batch,))
    axes = [n - 1 - q for q in qubits]  # bit j of the matrix index -> this axis
    d = 1 << len(qubits)
    slices = []
    for r in range(d):
        index: list[Any] = [slice(None)] * (n + 1)
        for j, axis in enumerate(axes):
            index[axis] = (r >> j) & 1
        slices.append(tuple(index))
    batched = matrix.ndim == 3
    if not batched and np.count_nonzero(matrix - np.diag(np.diag(matrix))) == 0:
        for r in range(d):  # diagonal: a phase per basis state
            if matrix[r, r] != 1:
                view[slices[r]].mul_(complex(matrix[r, r]))
        return
    if not batched and all(np.count_nonzero(matrix[r]) == 1 for r in range(d)):
        # A permutation with phases (cx, swap, ccx, ...): move the slices that change.
        sources = [int(np.flatnonzero(matrix[r])[0]) for r in range(d)]
        moved = {c: view[slices[c]].clone() for r, c in enumerate(sources) if c != r}
        for r, c in enumerate(sources):
            if c != r:
                view[slices[r]].copy_(moved[c])
            if matrix[r, c] != 1:
                view[slices[r]].mul_(complex(matrix[r, c]))
        return
    entries = torch.from_numpy(np.ascontiguousarray(matrix)).to(states.device)

    def entry(r: int, c: int) -> Any:
        return entries[:, r, c] if batched else complex(matrix[r, c])

    if d == 2:  # one qubit, in place: a0' = m00 a0 + m01 a1, a1' = m10 a0 + m11 a1
        a0, a1 = view[slices[0]], view[slices[1]]
        m00, m01, m10, m11 = entry(0, 0), entry(0, 1), entry(1, 0), entry(1, 1)
        if batched:  # fused multiply-adds: fewer passes over the states
            first = a1 * m01
            first.addcmul_(a0, m00)
            a1.mul_(m11).addcmul_(a0, m10)
            a0.copy_(first)
        else:
            keep = a0.clone()
            a0.mul_(m00).add_(a1, alpha=m01)
            a1.mul_(m11).add_(keep, alpha=m10)
        return
    old = [view[s].clone() for s in slices]
    for r in range(d):
        out = None
        for c in range(d):
            if not np.any(matrix[:, r, c] if batched else matrix[r, c]):
                continue
            term = old[c] * entry(r, c)
            out = term if out is None else out + term
        if out is None:
            view[slices[r]].zero_()
        else:
            view[slices[r]].copy_(out)


def _gate_matrix(gate: Gate, values: Mapping[str, np.ndarray], size: int) -> np.ndarray:
    if gate.name in PARAMETRIC and gate.params:
        args = [as_array(p.evaluate(values), size) for p in gate.params]
        build = PARAMETRIC[gate.name]
        if all(p.constant for p in gate.params):
            single: np.ndarray = build(*[a[:1] for a in args])[0]
            return single
        per_binding: np.ndarray = build(*args)
        return per_binding
    return fixed_matrix(gate.name)


def run_batch(
    circuit: ParametricCircuit,
    values: Mapping[str, np.ndarray],
    size: int,
    *,
    device: str = "cpu",
) -> np.ndarray:
    """The final states of ``size`` bindings, shape (size, 2**n), from |0...0>."""
    import torch

    n = circuit.num_qubits
    states = torch.zeros((1 << n, size), dtype=torch.complex128, device=device)
    states[0, :] = 1.0
    pending: dict[int, np.ndarray] = {}  # qubit -> fused single-qubit matrix (2,2) or (B,2,2)

    def flush(qubit: int) -> None:
        matrix = pending.pop(qubit, None)
        if matrix is not None:
            _apply(states, n, (qubit,), matrix)

    for gate in circuit.gates:
        matrix = _gate_matrix(gate, values, size)
        if len(gate.qubits) == 1:
            q = gate.qubits[0]
            previous = pending.get(q)
            pending[q] = matrix if previous is None else np.matmul(matrix, previous)
            continue
        for q in gate.qubits:
            flush(q)
        _apply(states, n, gate.qubits, matrix)
    for q in list(pending):
        flush(q)
    result: np.ndarray = states.T.cpu().numpy()
    return result


# --- what a sweep returns ----------------------------------------------------------------------


@dataclass(frozen=True)
class SweepOutput:
    """Per binding, in binding order: expectation values, and probabilities or counts."""

    parameters: dict[str, list[float]]
    expectation_values: dict[str, list[float]]
    probabilities: list[dict[str, float]] | None
    counts: list[dict[str, int]] | None
    num_qubits: int
    bindings: int
    elapsed_s: float
    engine: str


def sweep(
    circuit: ParametricCircuit,
    bindings: Mapping[str, Sequence[float]],
    *,
    observables: Sequence[str] = (),
    probabilities: bool = False,
    shots: int = 0,
    seed: int | None = None,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    device: str = "auto",
    engine: str = "auto",
    progress: Progress | None = None,
) -> SweepOutput:
    """Simulate ``circuit`` for every binding (``bindings``: name -> values, one per binding).

    Raises:
        CircuitValidationError: a parameter has no values, values of different lengths, a name
            that is not a parameter, a bad observable.
        InsufficientMemoryError: not even one state fits ``memory_bytes``.
    """
    started = time.perf_counter()
    device = pick_device(device)
    names = circuit.parameters
    size = _check_bindings(names, bindings)
    n = circuit.num_qubits
    labels = {text: pauli_label(text, n) for text in observables}
    if engine == "aer" or (engine == "auto" and device == "cpu" and n >= AER_FROM_QUBITS):
        return _aer_sweep(
            circuit, bindings, labels, size, probabilities, shots, seed, progress, started
        )
    state_bytes = (1 << n) * 16
    chunk = max(1, memory_bytes // (state_bytes * 3))
    if device == "cpu":  # a GPU wants the biggest batches that fit; a CPU, ones that stay cached
        chunk = max(1, min(chunk, CACHE_BYTES // state_bytes))
    if state_bytes * 3 > memory_bytes:
        raise InsufficientMemoryError(
            f"one {n}-qubit state and its working copies need {state_bytes * 3:,} bytes; the "
            f"sweep may use {memory_bytes:,}",
            field="memory",
        )
    rng = np.random.default_rng(seed)
    expectations: dict[str, list[float]] = {text: [] for text in observables}
    probs_out: list[dict[str, float]] | None = [] if probabilities else None
    counts_out: list[dict[str, int]] | None = [] if shots else None
    measured = circuit.measured or tuple(range(n))
    for start in range(0, size, chunk):
        stop = min(size, start + chunk)
        values = {k: np.asarray(bindings[k][start:stop], dtype=float) for k in names}
        states = run_batch(circuit, values, stop - start, device=device)
        probs = np.abs(states) ** 2
        for text, label in labels.items():
            expectations[text] += _expectation(states, probs, label).tolist()
        if probs_out is not None:
            probs_out += [_distribution(row, n) for row in probs]
        if counts_out is not None:
            marginal = _marginal(probs, n, measured)
            counts_out += [_sample(row, shots, len(measured), rng) for row in marginal]
        if progress is not None:
            progress(stop, size)
    engine = (
        f"batched statevector (torch {device}, {_threads(device)}, chunks of {min(chunk, size)})"
    )
    return _output(bindings, expectations, probs_out, counts_out, n, started, engine)


def _aer_sweep(
    circuit: ParametricCircuit,
    bindings: Mapping[str, Sequence[float]],
    labels: Mapping[str, str],
    size: int,
    probabilities: bool,
    shots: int,
    seed: int | None,
    progress: Progress | None,
    started: float,
) -> SweepOutput:
    """The sweep through Aer's parameter binding: one circuit with Qiskit ``Parameter``s,
    transpiled once (and kept for the next sweep of it), run over the bindings in a few calls
    (for progress)."""
    from qiskit_aer import AerSimulator

    n = circuit.num_qubits
    names = circuit.parameters
    measured = list(circuit.measured or range(n))
    compiled = _aer_program(circuit, tuple(labels.items()), probabilities, bool(shots))
    simulator = AerSimulator(method="statevector")
    parameters = {p.name: p for p in compiled.parameters}
    expectations: dict[str, list[float]] = {text: [] for text in labels}
    probs_out: list[dict[str, float]] | None = [] if probabilities else None
    counts_out: list[dict[str, int]] | None = [] if shots else None
    step = max(1, min(size, 2048))
    for start in range(0, size, step):
        stop = min(size, start + step)
        binds = (
            [{parameters[k]: [float(v) for v in bindings[k][start:stop]] for k in names}]
            if names
            else None
        )
        result = simulator.run(
            compiled, parameter_binds=binds, shots=shots or 1, seed_simulator=seed
        ).result()
        for i in range(stop - start):
            data = result.data(i)
            for text in labels:
                expectations[text].append(float(np.real(data[f"ev:{text}"])))
            if probs_out is not None:
                found = data["probabilities"].items()
                probs_out.append(
                    {format(_index(k), f"0{n}b"): float(v) for k, v in found if v > 1e-12}
                )
            if counts_out is not None:
                counts = result.get_counts(i).items()
                counts_out.append({_bits(k, measured, n): int(c) for k, c in counts})
        if progress is not None:
            progress(stop, size)
    engine = f"Aer parameter binding (statevector, cpu; from {AER_FROM_QUBITS} qubits)"
    return _output(bindings, expectations, probs_out, counts_out, n, started, engine)


@lru_cache(maxsize=32)
def _aer_program(
    circuit: ParametricCircuit,
    labels: tuple[tuple[str, str], ...],
    probabilities: bool,
    sampled: bool,
) -> Any:
    """The circuit with Qiskit ``Parameter``s and its save instructions, transpiled for Aer."""
    from types import SimpleNamespace

    from qiskit import QuantumCircuit, transpile
    from qiskit.circuit import Parameter
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_aer import AerSimulator

    from dunes.quantum.circuit import _append

    n = circuit.num_qubits
    symbols = {name: Parameter(name) for name in circuit.parameters}
    qc = QuantumCircuit(n, n if sampled else 0)
    for gate in circuit.gates:
        values = tuple(p.evaluate(symbols) for p in gate.params)
        # _append reads name, qubits, params and clbits; Parameters stand in for the numbers.
        symbolic = SimpleNamespace(name=gate.name, qubits=gate.qubits, params=values, clbits=())
        _append(qc, symbolic)  # type: ignore[arg-type]
    for text, label in labels:
        qc.save_expectation_value(SparsePauliOp(label), range(n), label=f"ev:{text}")
    if probabilities:
        qc.save_probabilities_dict(label="probabilities")
    if sampled:
        measured = list(circuit.measured or range(n))
        qc.measure(measured, measured)
    return transpile(qc, AerSimulator(method="statevector"))


def _output(
    bindings: Mapping[str, Sequence[float]],
    expectations: dict[str, list[float]],
    probabilities: list[dict[str, float]] | None,
    counts: list[dict[str, int]] | None,
    num_qubits: int,
    started: float,
    engine: str,
) -> SweepOutput:
    size = len(next(iter(bindings.values()))) if bindings else 1
    return SweepOutput(
        parameters={k: [float(v) for v in bindings[k]] for k in bindings},
        expectation_values=expectations,
        probabilities=probabilities,
        counts=counts,
        num_qubits=num_qubits,
        bindings=size,
        elapsed_s=time.perf_counter() - started,
        engine=engine,
    )


def _index(key: str | int) -> int:
    """An Aer probabilities key: an int, or hex text."""
    return key if isinstance(key, int) else int(key, 16)


def _bits(key: str, measured: list[int], n: int) -> str:
    """An Aer counts key (all n classical bits, bit 0 rightmost) as the measured qubits' bits."""
    full = key.replace(" ", "").zfill(n)
    return "".join(full[n - 1 - q] for q in sorted(measured, reverse=True))


def pick_device(wanted: str) -> str:
    """``auto``: the first CUDA device torch sees, else the CPU; ``cpu``; ``cuda:N``.

    Raises:
        DeviceError: a CUDA device was asked for and torch has none.
    """
    import torch

    from dunes.errors import DeviceError

    if wanted == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if wanted.startswith(("cuda", "gpu")):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {wanted!r}: this torch build sees no CUDA device; use cpu or auto",
                field="device",
            )
        return "cuda:0" if wanted == "gpu" else wanted
    return "cpu"


def _threads(device: str) -> str:
    import torch

    return "GPU" if device.startswith("cuda") else f"{torch.get_num_threads()} threads"


def _check_bindings(names: tuple[str, ...], bindings: Mapping[str, Sequence[float]]) -> int:
    extra = sorted(set(bindings) - set(names))
    if extra:
        raise CircuitValidationError(
            f"{', '.join(extra)} is not a parameter of the circuit (its parameters: "
            f"{', '.join(names) or 'none'})",
            field="parameters",
        )
    missing = [k for k in names if k not in bindings]
    if missing:
        raise CircuitValidationError(
            f"parameter {', '.join(missing)} has no values; give --param {missing[0]}=START:STOP:N "
            "or bindings with that name",
            field="parameters",
        )
    lengths = {len(bindings[k]) for k in names}
    if not names:
        return 1
    if len(lengths) != 1 or 0 in lengths:
        raise CircuitValidationError(
            "every parameter needs the same, non-zero number of values (one per binding)",
            field="parameters",
        )
    return lengths.pop()


def _expectation(states: np.ndarray, probs: np.ndarray, label: str) -> np.ndarray:
    """<psi|P|psi> per state for a dense Pauli label (qubit 0 rightmost)."""
    n = len(label)
    index = np.arange(1 << n)
    flip, sign_mask, ys = 0, 0, 0
    for q in range(n):
        letter = label[n - 1 - q]
        if letter in "XY":
            flip |= 1 << q
        if letter in "YZ":
            sign_mask |= 1 << q
        if letter == "Y":
            ys += 1
    bits = index & sign_mask
    signs = 1.0 - 2.0 * (_popcount(bits) & 1)
    if flip == 0:
        result: np.ndarray = probs @ signs
        return result
    # P|psi>: amplitude at i comes from i ^ flip, times the Z/Y signs of the source and i**ys.
    moved = states[:, index ^ flip] * signs[index ^ flip] * (1j**ys)
    values: np.ndarray = np.real(np.einsum("bi,bi->b", states.conj(), moved))
    return values


def _popcount(values: np.ndarray) -> np.ndarray:
    """Set bits of each value, one pass per bit (n passes for n-qubit indices)."""
    counts = np.zeros_like(values)
    remaining = values.copy()
    while np.any(remaining):
        counts += remaining & 1
        remaining >>= 1
    return counts


def _distribution(row: np.ndarray, n: int, cutoff: float = 1e-12) -> dict[str, float]:
    keep = np.nonzero(row > cutoff)[0]
    return {format(int(i), f"0{n}b"): float(row[i]) for i in keep}


def _marginal(probs: np.ndarray, n: int, measured: tuple[int, ...]) -> np.ndarray:
    if tuple(measured) == tuple(range(n)):
        return probs
    view = probs.reshape((probs.shape[0],) + (2,) * n)
    keep = [1 + (n - 1 - q) for q in sorted(measured, reverse=True)]
    drop = tuple(a for a in range(1, n + 1) if a not in keep)
    summed = view.sum(axis=drop)
    result: np.ndarray = summed.reshape(probs.shape[0], -1)
    return result


def _sample(row: np.ndarray, shots: int, width: int, rng: np.random.Generator) -> dict[str, int]:
    total = row.sum()
    drawn = rng.multinomial(shots, row / total)
    return {format(int(i), f"0{width}b"): int(c) for i, c in enumerate(drawn) if c}
