"""Clifford circuits on stim's stabilizer tableau simulator, at any size.

Aer's stabilizer method samples each shot by measuring a copy of the tableau, which grows as
n^3 per shot (a 1,000-qubit GHZ took 114 s for 1,000 shots here); stim compiles the circuit
into a sampler that draws 10,000 shots of it in 0.07 s. Stim runs measurements, resets and
classically controlled Pauli gates (feedback); other Clifford circuits go to Aer's stabilizer.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dunes.quantum.circuit import CircuitSpec, Operation
from dunes.quantum.gates import GATES, IF_ELSE

if TYPE_CHECKING:
    import stim

#: dunes gate -> stim gate, where stim has the same gate under its own name.
_STIM_NAMES = {
    "id": "I",
    "x": "X",
    "y": "Y",
    "z": "Z",
    "h": "H",
    "s": "S",
    "sdg": "S_DAG",
    "sx": "SQRT_X",
    "sxdg": "SQRT_X_DAG",
    "cx": "CX",
    "cy": "CY",
    "cz": "CZ",
    "swap": "SWAP",
    "iswap": "ISWAP",
}
#: Stim 1.16 hangs when two threads sample at once (quantumlib/Stim#1107); REST and MCP serve
#: from many threads, so every sample is taken under this lock.
STIM_LOCK = threading.Lock()
#: Pauli gates that stim can apply under classical control (``CX rec[-1] q``).
_FEEDBACK = {"id": None, "x": "CX", "y": "CY", "z": "CZ"}


def stim_version() -> str:
    import stim

    return str(stim.__version__)


@dataclass(frozen=True)
class StimProgram:
    """A circuit in stim, and which measurement record holds each classical bit at the end."""

    circuit: stim.Circuit
    clbit_records: tuple[int | None, ...]
    num_measurements: int


@functools.lru_cache(maxsize=16)
def to_stim(spec: CircuitSpec, *, measure_all_if_none: bool = True) -> StimProgram | None:
    """The circuit as a stim program, or None when stim cannot run it.

    Stim runs Clifford gates, measure, reset, and ``if_else`` on one classical bit whose blocks
    are Pauli gates. A circuit without measurements measures every qubit into the classical bit
    of the same index (what its counts mean everywhere in dunes). Kept for the last few specs:
    the plan and the run both ask.
    """
    if not spec.is_clifford:
        return None
    import stim

    ops = spec.operations
    builder = _Builder(spec.num_clbits)
    if measure_all_if_none and not spec.has_measurements:
        everything = tuple(range(spec.num_qubits))
        ops = (*ops, Operation(name="measure", qubits=everything, clbits=everything))
        builder.clbits = [None] * spec.num_qubits
    for op in ops:
        if not builder.add(op):
            return None
    return StimProgram(
        circuit=stim.Circuit("\n".join(builder.lines)),
        clbit_records=tuple(builder.clbits),
        num_measurements=builder.measurements,
    )


class _Builder:
    """Writes stim's text format: one parse at the end beats an append per gate by 20x."""

    def __init__(self, num_clbits: int) -> None:
        self.lines: list[str] = []
        self.clbits: list[int | None] = [None] * num_clbits
        self.measurements = 0

    def add(self, op: Operation) -> bool:
        if op.name == "barrier":
            return True
        if op.name == "measure":
            self.lines.append("M " + " ".join(map(str, op.qubits)))
            for c in op.clbits:
                self.clbits[c] = self.measurements
                self.measurements += 1
            return True
        if op.name == "reset":
            self.lines.append("R " + " ".join(map(str, op.qubits)))
            return True
        if op.name == IF_ELSE:
            return self.feedback(op)
        for name, targets in _stim_gates(op.name):
            self.lines.append(f"{name} {' '.join(str(op.qubits[t]) for t in targets)}")
        return True

    def feedback(self, op: Operation) -> bool:
        condition = op.condition
        inner = op.body + op.orelse
        if condition is None or len(condition.clbits) != 1:
            return False
        if any(o.name not in _FEEDBACK for o in inner):
            return False
        record = self.clbits[condition.clbits[0]]
        taken, other = (op.body, op.orelse) if condition.value == 1 else (op.orelse, op.body)
        if record is None:  # never measured: the bit is 0, so the branch is known now
            return all(self.add(o) for o in other)
        # other runs when the bit is 0: run it always, and again (undoing it) when the bit is 1.
        for o in other:
            self.add(o)
        lookback = record - self.measurements
        for o in (*taken, *other):
            gate = _FEEDBACK[o.name]
            if gate is not None:
                self.lines.append(f"{gate} rec[{lookback}] {o.qubits[0]}")
        return True


@functools.cache
def _stim_gates(name: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """How stim applies a dunes Clifford gate: (stim gate, operand positions) steps."""
    if name in _STIM_NAMES:
        return ((_STIM_NAMES[name], tuple(range(GATES[name].num_qubits))),)
    import stim
    from qiskit.quantum_info import Operator

    from dunes.quantum.circuit import CircuitSpec as Spec

    width = GATES[name].num_qubits
    spec = Spec(
        num_qubits=width,
        operations=(Operation(name=name, qubits=tuple(range(width))),),
    )
    matrix = Operator(spec.to_qiskit()).data
    tableau = stim.Tableau.from_unitary_matrix(matrix, endian="little")
    steps: list[tuple[str, tuple[int, ...]]] = []
    for instruction in tableau.to_circuit("elimination"):
        targets = [t.value for t in instruction.targets_copy()]
        arity = 2 if instruction.name in ("CX", "CY", "CZ", "SWAP", "ISWAP") else 1
        for start in range(0, len(targets), arity):
            steps.append((instruction.name, tuple(targets[start : start + arity])))
    return tuple(steps)


def sample_counts(program: StimProgram, shots: int, seed: int | None) -> dict[str, int]:
    """Counts of the classical register over ``shots`` samples, keyed with clbit 0 rightmost."""
    width = len(program.clbit_records)
    if program.num_measurements == 0 or width == 0:
        return {"0" * width: shots} if width else {}
    sampler = program.circuit.compile_sampler(seed=seed)
    # Bit-packed all the way: 10,000 shots of 1,000 qubits are 1.25 MB, not 10 MB of bools.
    with STIM_LOCK:
        samples = sampler.sample(shots, bit_packed=True)
    if program.clbit_records == tuple(range(width)) and program.num_measurements == width:
        return _count_packed(samples, width)
    packed = np.zeros((shots, (width + 7) // 8), dtype=np.uint8)
    for clbit, record in enumerate(program.clbit_records):
        if record is not None:
            bit = (samples[:, record >> 3] >> (record & 7)) & 1
            packed[:, clbit >> 3] |= (bit << (clbit & 7)).astype(np.uint8)
    return _count_packed(packed, width)


def sample_bytes(shots: int, measurements: int, clbits: int) -> int:
    """Room the packed samples take while counting them."""
    return shots * ((measurements + 7) // 8 + 2 * ((clbits + 7) // 8))


def _count_rows(bits: np.ndarray) -> dict[str, int]:
    return _count_packed(np.packbits(bits, axis=1, bitorder="little"), bits.shape[1])


def _count_packed(packed: np.ndarray, width: int) -> dict[str, int]:
    rows, counts = np.unique(packed, axis=0, return_counts=True)
    keys = [format(int.from_bytes(row.tobytes(), "little"), f"0{width}b") for row in rows]
    return dict(sorted(zip(keys, counts.tolist(), strict=True)))


def exact_distribution(
    body: stim.Circuit, num_qubits: int, *, max_outcomes: int
) -> tuple[dict[str, float], int] | None:
    """The exact distribution of measuring every qubit after ``body``, or None when it has more
    than ``max_outcomes`` outcomes; also returns the number of random bits ``k``.

    The outcomes of a stabilizer state form an affine space: each qubit's result is random
    (given the ones before it) or fixed, and a fixed one is a sum of earlier random ones plus a
    constant. One pass choosing 0 for every random bit gives the constant; one pass per random
    bit, choosing 1 there, gives its column. Every outcome then has probability 2^-k.
    """
    import stim

    base = stim.TableauSimulator()
    base.do(body)
    base.set_num_qubits(max(num_qubits, base.num_qubits))

    def run(flip: int | None) -> tuple[list[bool], list[int]]:
        sim = base.copy()
        bits: list[bool] = []
        free: list[int] = []
        for q in range(num_qubits):
            fixed = sim.peek_z(q)
            if fixed == 0:
                value = len(free) == flip
                free.append(q)
                sim.postselect_z(q, desired_value=value)
                bits.append(value)
            else:
                bits.append(fixed == -1)
        return bits, free

    zero, free = run(None)
    k = len(free)
    if 2**k > max_outcomes:
        return None
    columns = [np.array(run(i)[0], dtype=bool) ^ np.array(zero, dtype=bool) for i in range(k)]
    origin = np.array(zero, dtype=bool)
    outcomes = np.tile(origin, (2**k, 1))
    for i, column in enumerate(columns):
        chosen = (np.arange(2**k) >> i) & 1 == 1
        outcomes[chosen] ^= column
    probability = 1.0 / 2**k
    keys = sorted(_count_rows(outcomes))
    return {key: probability for key in keys}, k


def expectation_values(body: stim.Circuit, num_qubits: int, labels: list[str]) -> list[float]:
    """Exact <P> for dense Pauli labels (qubit 0 rightmost): -1, 0 or +1 on a stabilizer state."""
    import stim

    sim = stim.TableauSimulator()
    sim.set_num_qubits(num_qubits)
    sim.do(body)
    values = []
    for label in labels:
        pauli = stim.PauliString(label[::-1].replace("I", "_"))
        values.append(float(sim.peek_observable_expectation(pauli)))
    return values


def unitary_part(spec: CircuitSpec, body: tuple[Operation, ...]) -> Any:
    """The stim circuit of a measurement-free body (gates and barriers only)."""
    import stim

    builder = _Builder(spec.num_clbits)
    for op in body:
        builder.add(op)
    return stim.Circuit("\n".join(builder.lines))
