"""Circuits built from Qiskit's library and generators, for checking the simulator's outcomes.

Every circuit is deterministic (fixed seeds), has at most 12 qubits, only bound parameters, and is
flattened to Qiskit's standard gates plus measure, reset, barrier and ``if_else``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from functools import cache

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Clbit, Gate, Qubit
from qiskit.circuit.library import (
    FullAdderGate,
    GraphStateGate,
    HalfAdderGate,
    IntegerComparatorGate,
    ModularAdderGate,
    MultiplierGate,
    PhaseOracleGate,
    QFTGate,
    ZGate,
    fourier_checking,
    get_standard_gate_name_mapping,
    grover_operator,
    hidden_linear_function,
    phase_estimation,
    quantum_volume,
    random_iqp,
)
from qiskit.circuit.random import random_circuit, random_clifford_circuit
from qiskit.quantum_info import random_clifford
from qiskit.synthesis import (
    adder_qft_d00,
    adder_ripple_c04,
    adder_ripple_v95,
    multiplier_cumulative_h18,
    multiplier_qft_r17,
    synth_qft_full,
)

MAX_QUBITS = 12
STANDARD_GATES = frozenset(get_standard_gate_name_mapping()) - {"measure", "reset", "delay"}
_KEPT = STANDARD_GATES | {"measure", "reset", "barrier", "if_else"}

Builder = Callable[[], QuantumCircuit]


@cache
def library_circuits() -> list[tuple[str, QuantumCircuit]]:
    """Every library circuit as (unique descriptive name, circuit); built once per process."""
    circuits = [(name, build()) for name, build in _builders()]
    names = [name for name, _ in circuits]
    if len(set(names)) != len(names):
        raise RuntimeError("library circuit names are not unique")
    return circuits


def standard(qc: QuantumCircuit) -> QuantumCircuit:
    """Decompose until only standard gates, measure, reset, barrier and if_else remain."""
    for _ in range(30):
        pending = {i.operation.name for i in qc.data if i.operation.name not in _KEPT}
        if not pending:
            return qc
        qc = qc.decompose(gates_to_decompose=sorted(pending))
    raise RuntimeError(f"could not flatten {sorted(pending)}")


def measure_each_when_done(
    qc: QuantumCircuit, qubits: list[int], register_name: str = "c"
) -> QuantumCircuit:
    """Measure each listed qubit (into clbit i of a new register) right after its last gate."""
    register = ClassicalRegister(len(qubits), register_name)
    out = qc.copy_empty_like()
    out.add_register(register)
    last = {qubit: -1 for qubit in qubits}
    for position, instruction in enumerate(qc.data):
        for bit in instruction.qubits:
            index = qc.find_bit(bit).index
            if index in last:
                last[index] = position
    for slot, qubit in enumerate(qubits):
        if last[qubit] == -1:
            out.measure(qubit, register[slot])
    for position, instruction in enumerate(qc.data):
        out.append(instruction.operation, instruction.qubits, instruction.clbits)
        for slot, qubit in enumerate(qubits):
            if last[qubit] == position:
                out.measure(qubit, register[slot])
    return out


def _measured(qc: QuantumCircuit, qubits: list[int] | None = None) -> QuantumCircuit:
    """The circuit followed by measurements of ``qubits`` (default all) into a new register."""
    qubits = list(range(qc.num_qubits)) if qubits is None else qubits
    register = ClassicalRegister(len(qubits), "c")
    out = qc.copy()
    out.add_register(register)
    out.measure(qubits, register)
    return out


def _prepare(qc: QuantumCircuit, value: int, qubits: list[int]) -> None:
    """X gates writing ``value`` (little-endian) onto ``qubits``."""
    for position, qubit in enumerate(qubits):
        if (value >> position) & 1:
            qc.x(qubit)


# --- QFT -------------------------------------------------------------------------------------


def _qft_on_basis(n: int, value: int, *, swaps: bool = True, degree: int = 0) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    _prepare(qc, value, list(range(n)))
    qc.compose(synth_qft_full(n, do_swaps=swaps, approximation_degree=degree), inplace=True)
    return _measured(qc)


def _qft_measure_all(n: int) -> QuantumCircuit:
    qc = synth_qft_full(n)
    qc.measure_all()
    return qc


def _iqft_of_fourier_state(n: int, value: int) -> QuantumCircuit:
    """Prepare the Fourier state of ``value`` with H and phases; the inverse QFT returns it."""
    qc = QuantumCircuit(n)
    qc.h(range(n))
    for qubit in range(n):
        qc.p(2 * math.pi * value * 2**qubit / 2**n, qubit)
    qc.compose(synth_qft_full(n, inverse=True), inplace=True)
    return _measured(qc)


def _qft_roundtrip(n: int, seed: int) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    rng = np.random.default_rng(seed)
    for qubit in range(n):
        qc.u(*rng.uniform(0, math.pi, 3), qubit)
    qc.append(QFTGate(n), range(n))
    qc.append(QFTGate(n).inverse(), range(n))
    return _measured(standard(qc))


def _iqft_measure_each(n: int, seed: int) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    rng = np.random.default_rng(seed)
    for qubit in range(n):
        qc.ry(rng.uniform(0, math.pi), qubit)
    qc.compose(synth_qft_full(n, do_swaps=False, inverse=True), inplace=True)
    return measure_each_when_done(qc, list(range(n)))


def _qft_builders() -> Iterator[tuple[str, Builder]]:
    for n in (2, 3, 5, 8):
        yield f"qft_n{n}_zero_state_measure_all", lambda n=n: _qft_measure_all(n)
    yield "qft_n4_basis5_measured", lambda: _qft_on_basis(4, 5)
    yield "qft_n6_basis37_measured", lambda: _qft_on_basis(6, 37)
    yield "qft_n4_no_swaps_basis9", lambda: _qft_on_basis(4, 9, swaps=False)
    yield "qft_n7_no_swaps_basis100", lambda: _qft_on_basis(7, 100, swaps=False)
    yield "aqft_n6_degree2_basis11", lambda: _qft_on_basis(6, 11, degree=2)
    for n, value in ((3, 6), (5, 19), (7, 77)):
        yield (
            f"iqft_n{n}_of_fourier_state_{value}",
            lambda n=n, value=value: _iqft_of_fourier_state(n, value),
        )
    yield "qft_gate_roundtrip_n6", lambda: _qft_roundtrip(6, seed=11)
    yield "iqft_no_swaps_n5_measure_each_when_done", lambda: _iqft_measure_each(5, seed=12)
    yield "qft_gate_n5_decomposed_measured", lambda: _measured(standard(_qft_gate_circuit(5)))


def _qft_gate_circuit(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    qc.x(0)
    qc.h(n - 1)
    qc.append(QFTGate(n), range(n))
    return qc


# --- phase estimation ------------------------------------------------------------------------


def _phase_estimation(
    counting: int, unitary: QuantumCircuit, eigenstate: Callable[[QuantumCircuit, list[int]], None]
) -> QuantumCircuit:
    """Phase estimation on an eigenstate; counting qubits come first."""
    qc = QuantumCircuit(counting + unitary.num_qubits)
    targets = list(range(counting, qc.num_qubits))
    eigenstate(qc, targets)
    qc.compose(phase_estimation(counting, unitary), inplace=True)
    return standard(qc)


def _phase_unitary(angle: float) -> QuantumCircuit:
    qc = QuantumCircuit(1)
    qc.p(angle, 0)
    return qc


def _two_qubit_unitary() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.cp(2 * math.pi * 5 / 8, 0, 1)
    qc.rz(0.7, 0)
    return qc


def _x_unitary() -> QuantumCircuit:
    qc = QuantumCircuit(1)
    qc.x(0)
    return qc


def _one(qc: QuantumCircuit, targets: list[int]) -> None:
    qc.x(targets)


def _minus(qc: QuantumCircuit, targets: list[int]) -> None:
    qc.x(targets)
    qc.h(targets)


_QPE_CASES: tuple[tuple[str, int, Callable[[], QuantumCircuit], Callable[..., None]], ...] = (
    ("p_3_8ths_3bits", 3, lambda: _phase_unitary(2 * math.pi * 3 / 8), _one),
    ("t_gate_4bits", 4, lambda: _phase_unitary(math.pi / 4), _one),
    ("p_third_5bits", 5, lambda: _phase_unitary(2 * math.pi / 3), _one),
    ("p_0p3_6bits", 6, lambda: _phase_unitary(2 * math.pi * 0.3), _one),
    ("two_qubit_diagonal_4bits", 4, _two_qubit_unitary, _one),
    ("x_on_minus_3bits", 3, _x_unitary, _minus),
)


def _qpe_builders() -> Iterator[tuple[str, Builder]]:
    for label, counting, unitary, state in _QPE_CASES:

        def final(counting: int = counting, unitary=unitary, state=state) -> QuantumCircuit:
            return _measured(_phase_estimation(counting, unitary(), state), list(range(counting)))

        def interleaved(counting: int = counting, unitary=unitary, state=state) -> QuantumCircuit:
            qc = _phase_estimation(counting, unitary(), state)
            return measure_each_when_done(qc, list(range(counting)))

        yield f"qpe_{label}_measured_at_end", final
        yield f"qpe_{label}_measured_when_done", interleaved


# --- Grover ----------------------------------------------------------------------------------


def _marking_oracle(n: int, marked: list[int]) -> QuantumCircuit:
    """Phase flip on each marked basis state, built from X and a multi-controlled Z."""
    oracle = QuantumCircuit(n)
    for value in marked:
        zeros = [qubit for qubit in range(n) if not (value >> qubit) & 1]
        if zeros:
            oracle.x(zeros)
        oracle.append(ZGate().control(n - 1), range(n))
        if zeros:
            oracle.x(zeros)
    return oracle


def _grover(oracle: QuantumCircuit, iterations: int) -> QuantumCircuit:
    n = oracle.num_qubits
    qc = QuantumCircuit(n)
    qc.h(range(n))
    step = grover_operator(oracle)
    for _ in range(iterations):
        qc.compose(step, inplace=True)
    return _measured(standard(qc))


def _phase_oracle(expression: str) -> QuantumCircuit:
    gate = PhaseOracleGate(expression)
    oracle = QuantumCircuit(gate.num_qubits)
    oracle.append(gate, range(gate.num_qubits))
    return oracle


def _grover_builders() -> Iterator[tuple[str, Builder]]:
    for n, marked, iterations in ((2, [3], 1), (3, [5], 2), (4, [11], 3), (5, [19], 3)):
        yield (
            f"grover_n{n}_marks_{marked[0]}_{iterations}_iterations",
            lambda n=n, marked=marked, iterations=iterations: _grover(
                _marking_oracle(n, marked), iterations
            ),
        )
    yield "grover_n4_marks_3_and_12_2_iterations", lambda: _grover(_marking_oracle(4, [3, 12]), 2)
    yield "grover_n3_marks_0_and_6_1_iteration", lambda: _grover(_marking_oracle(3, [0, 6]), 1)
    yield (
        "grover_phase_oracle_a_and_b_or_not_c_and_d_2_iterations",
        lambda: _grover(_phase_oracle("(a & b) | (~c & d)"), 2),
    )
    yield "grover_phase_oracle_xor3_1_iteration", lambda: _grover(_phase_oracle("a ^ b ^ c"), 1)


# --- arithmetic ------------------------------------------------------------------------------


def _arithmetic(
    body: QuantumCircuit,
    inputs: dict[str, int],
    superposed: tuple[str, ...] = (),
) -> QuantumCircuit:
    """Prepare register values with X gates (or H for ``superposed``), run ``body``, measure."""
    qc = QuantumCircuit(*body.qregs)
    for register in body.qregs:
        indices = [qc.find_bit(bit).index for bit in register]
        if register.name in superposed:
            qc.h(indices)
        else:
            _prepare(qc, inputs.get(register.name, 0), indices)
    qc.compose(body, inplace=True)
    return _measured(standard(qc))


def _gate_circuit(gate: Gate, names: list[tuple[str, int]]) -> QuantumCircuit:
    """A circuit applying ``gate`` to registers with the given names and sizes, in order."""
    registers = [QuantumRegister(size, name) for name, size in names]
    qc = QuantumCircuit(*registers)
    qc.append(gate, qc.qubits)
    return qc


def _arithmetic_builders() -> Iterator[tuple[str, Builder]]:
    yield (
        "draper_qft_adder_half_2bit_1_plus_2",
        lambda: _arithmetic(adder_qft_d00(2, "half"), {"a": 1, "b": 2}),
    )
    yield (
        "draper_qft_adder_fixed_3bit_5_plus_6",
        lambda: _arithmetic(adder_qft_d00(3, "fixed"), {"a": 5, "b": 6}),
    )
    yield (
        "draper_qft_adder_half_3bit_superposed_a_plus_3",
        lambda: _arithmetic(adder_qft_d00(3, "half"), {"b": 3}, superposed=("a",)),
    )
    yield (
        "draper_qft_adder_fixed_2bit_superposed_both",
        lambda: _arithmetic(adder_qft_d00(2, "fixed"), {}, superposed=("a", "b")),
    )
    yield (
        "cdkm_ripple_adder_half_3bit_6_plus_7",
        lambda: _arithmetic(adder_ripple_c04(3, "half"), {"a": 6, "b": 7}),
    )
    yield (
        "cdkm_ripple_adder_full_3bit_carry_in",
        lambda: _arithmetic(adder_ripple_c04(3, "full"), {"cin": 1, "a": 3, "b": 4}),
    )
    yield (
        "cdkm_ripple_adder_fixed_4bit_superposed_a_plus_9",
        lambda: _arithmetic(adder_ripple_c04(4, "fixed"), {"b": 9}, superposed=("a",)),
    )
    yield (
        "vbe_ripple_adder_half_2bit_3_plus_3",
        lambda: _arithmetic(adder_ripple_v95(2, "half"), {"a": 3, "b": 3}),
    )
    yield (
        "vbe_ripple_adder_full_3bit_carry_in",
        lambda: _arithmetic(adder_ripple_v95(3, "full"), {"cin": 1, "a": 2, "b": 5}),
    )
    yield (
        "vbe_ripple_adder_fixed_3bit_superposed_b_plus_1",
        lambda: _arithmetic(adder_ripple_v95(3, "fixed"), {"a": 1}, superposed=("b",)),
    )
    yield (
        "rg_qft_multiplier_2bit_3_times_2",
        lambda: _arithmetic(multiplier_qft_r17(2), {"a": 3, "b": 2}),
    )
    yield (
        "rg_qft_multiplier_2bit_superposed_a_times_3",
        lambda: _arithmetic(multiplier_qft_r17(2), {"b": 3}, superposed=("a",)),
    )
    yield (
        "hrs_cumulative_multiplier_2bit_2_times_3",
        lambda: _arithmetic(multiplier_cumulative_h18(2), {"a": 2, "b": 3}),
    )
    yield (
        "half_adder_gate_2bit_2_plus_3",
        lambda: _arithmetic(
            _gate_circuit(HalfAdderGate(2), [("a", 2), ("b", 2), ("cout", 1)]), {"a": 2, "b": 3}
        ),
    )
    yield (
        "full_adder_gate_2bit_superposed_a",
        lambda: _arithmetic(
            _gate_circuit(FullAdderGate(2), [("cin", 1), ("a", 2), ("b", 2), ("cout", 1)]),
            {"cin": 1, "b": 1},
            superposed=("a",),
        ),
    )
    yield (
        "modular_adder_gate_3bit_6_plus_5",
        lambda: _arithmetic(
            _gate_circuit(ModularAdderGate(3), [("a", 3), ("b", 3)]), {"a": 6, "b": 5}
        ),
    )
    yield (
        "multiplier_gate_2bit_superposed_both",
        lambda: _arithmetic(
            _gate_circuit(MultiplierGate(2), [("a", 2), ("b", 2), ("out", 4)]),
            {},
            superposed=("a", "b"),
        ),
    )
    yield (
        "integer_comparator_gate_3bit_geq_5_superposed",
        lambda: _arithmetic(
            _gate_circuit(IntegerComparatorGate(3, 5), [("x", 3), ("flag", 1)]),
            {},
            superposed=("x",),
        ),
    )


# --- Clifford, random and other library families ---------------------------------------------


def _clifford(n: int, seed: int) -> QuantumCircuit:
    return _measured(standard(random_clifford(n, seed=seed).to_circuit()))


def _clifford_circuit(n: int, gates: int, seed: int) -> QuantumCircuit:
    return _measured(standard(random_clifford_circuit(n, gates, seed=seed)))


def _random(n: int, depth: int, seed: int, max_operands: int = 4) -> QuantumCircuit:
    return standard(random_circuit(n, depth, max_operands=max_operands, measure=True, seed=seed))


def _library_family_builders() -> Iterator[tuple[str, Builder]]:
    for n, seed in ((2, 1), (3, 2), (4, 3), (5, 4), (6, 5), (7, 6), (8, 7), (9, 8), (10, 9)):
        yield f"random_clifford_n{n}_seed{seed}", lambda n=n, seed=seed: _clifford(n, seed)
    for n, gates, seed in ((3, 20, 21), (6, 40, 22), (10, 60, 23)):
        yield (
            f"random_clifford_circuit_n{n}_{gates}_gates_seed{seed}",
            lambda n=n, gates=gates, seed=seed: _clifford_circuit(n, gates, seed),
        )
    for n, depth, seed in (
        (2, 6, 31),
        (3, 5, 32),
        (4, 5, 33),
        (5, 4, 34),
        (6, 4, 35),
        (7, 3, 36),
        (8, 3, 37),
        (10, 3, 38),
        (12, 2, 39),
    ):
        yield (
            f"random_circuit_n{n}_depth{depth}_seed{seed}",
            lambda n=n, depth=depth, seed=seed: _random(n, depth, seed),
        )
    for n, depth, seed in ((4, 10, 41), (6, 8, 42), (9, 6, 43)):
        yield (
            f"random_circuit_two_qubit_gates_n{n}_depth{depth}_seed{seed}",
            lambda n=n, depth=depth, seed=seed: _random(n, depth, seed, max_operands=2),
        )
    yield "quantum_volume_n3_seed51", lambda: _measured(standard(quantum_volume(3, seed=51)))
    yield (
        "quantum_volume_n4_depth3_seed52",
        lambda: _measured(standard(quantum_volume(4, 3, seed=52))),
    )
    yield "random_iqp_n5_seed53", lambda: _measured(standard(random_iqp(5, seed=53)))
    yield (
        "hidden_linear_function_n4",
        lambda: _measured(
            standard(
                hidden_linear_function([[1, 1, 0, 1], [1, 0, 1, 0], [0, 1, 1, 1], [1, 0, 1, 0]])
            )
        ),
    )
    yield "graph_state_ring5", lambda: _measured(standard(_graph_state_ring(5)))
    yield (
        "fourier_checking_n2",
        lambda: _measured(standard(fourier_checking([1, -1, -1, -1], [1, 1, -1, -1]))),
    )


def _graph_state_ring(n: int) -> QuantumCircuit:
    adjacency = np.zeros((n, n), dtype=int)
    for i in range(n):
        adjacency[i, (i + 1) % n] = adjacency[(i + 1) % n, i] = 1
    qc = QuantumCircuit(n)
    qc.append(GraphStateGate(adjacency), range(n))
    qc.h(range(0, n, 2))
    return qc


# --- random circuits with mid-circuit measurements, resets and conditions --------------------

_ONE_QUBIT: tuple[tuple[str, int], ...] = (
    ("h", 0),
    ("x", 0),
    ("y", 0),
    ("z", 0),
    ("s", 0),
    ("sdg", 0),
    ("t", 0),
    ("tdg", 0),
    ("sx", 0),
    ("rx", 1),
    ("ry", 1),
    ("rz", 1),
    ("p", 1),
    ("u", 3),
)
_TWO_QUBIT: tuple[tuple[str, int], ...] = (
    ("cx", 0),
    ("cz", 0),
    ("cy", 0),
    ("ch", 0),
    ("swap", 0),
    ("crx", 1),
    ("cry", 1),
    ("crz", 1),
    ("cp", 1),
    ("rzz", 1),
    ("rxx", 1),
)
_THREE_QUBIT: tuple[tuple[str, int], ...] = (("ccx", 0), ("cswap", 0))


def _random_gate(qc: QuantumCircuit, rng: np.random.Generator, qubits: list[Qubit]) -> None:
    """Append one random standard gate on distinct random qubits among ``qubits``."""
    arity = int(rng.choice([1, 2, 3], p=[0.5, 0.4, 0.1])) if len(qubits) >= 3 else 1
    arity = min(arity, len(qubits))
    table = {1: _ONE_QUBIT, 2: _TWO_QUBIT, 3: _THREE_QUBIT}[arity]
    name, num_params = table[int(rng.integers(len(table)))]
    params = [float(round(angle, 6)) for angle in rng.uniform(-math.pi, math.pi, num_params)]
    chosen = [qubits[int(i)] for i in rng.choice(len(qubits), arity, replace=False)]
    qc.append(get_standard_gate_name_mapping()[name].base_class(*params), chosen)


def _random_with_mid_measurements(n: int, depth: int, mids: int, seed: int) -> QuantumCircuit:
    """A random circuit with extra measurements at random positions, then a final read-out."""
    rng = np.random.default_rng(seed)
    body = standard(random_circuit(n, depth, max_operands=3, seed=seed))
    mid = ClassicalRegister(mids, "m")
    qc = body.copy_empty_like()
    qc.add_register(mid)
    positions = sorted(rng.choice(len(body.data) + 1, mids, replace=True).tolist())
    slot = 0
    for position in range(len(body.data) + 1):
        while slot < mids and positions[slot] == position:
            qc.measure(int(rng.integers(n)), mid[slot])
            slot += 1
        if position < len(body.data):
            instruction = body.data[position]
            qc.append(instruction.operation, instruction.qubits, instruction.clbits)
    return _measured(qc)


def _random_with_resets(n: int, steps: int, resets: int, seed: int) -> QuantumCircuit:
    """Random gates with resets and a few mid-circuit measurements interleaved."""
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n)
    mid = ClassicalRegister(2, "m")
    qc.add_register(mid)
    events = {int(step): "reset" for step in rng.choice(steps, resets, replace=False)}
    for step in rng.choice([s for s in range(steps) if s not in events], 2, replace=False):
        events[int(step)] = "measure"
    measured = 0
    for step in range(steps):
        _random_gate(qc, rng, qc.qubits)
        event = events.get(step)
        if event == "reset":
            qc.reset(int(rng.integers(n)))
        elif event == "measure":
            qc.measure(int(rng.integers(n)), mid[measured])
            measured += 1
    return _measured(qc)


def _random_dynamic(
    n: int,
    steps: int,
    seed: int,
    *,
    register_conditions: bool,
    else_blocks: bool,
    nested: bool = False,
    ancilla_budget: int = 8,
) -> QuantumCircuit:
    """Random gates, mid-circuit measurements and ``if_else`` on single clbits or registers.

    Deferred-measurement cost (one ancilla per mid-circuit measurement, reset or multi-bit
    condition) is kept within ``ancilla_budget`` so the exact reference stays cheap.
    """
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n)
    mid = ClassicalRegister(3, "m")
    qc.add_register(mid)
    spent = 0
    for qubit in range(n):
        if rng.random() < 0.6:
            qc.h(qubit)
        else:
            qc.ry(float(round(rng.uniform(0, 3), 6)), qubit)
    for _ in range(steps):
        roll = rng.random()
        if roll < 0.2 and spent < ancilla_budget:
            qc.measure(int(rng.integers(n)), mid[int(rng.integers(3))])
            spent += 1
        elif roll < 0.45 and spent < ancilla_budget:
            spent += _random_if(qc, rng, mid, register_conditions, else_blocks, nested)
        else:
            _random_gate(qc, rng, qc.qubits)
    return _measured(qc)


def _random_if(
    qc: QuantumCircuit,
    rng: np.random.Generator,
    mid: ClassicalRegister,
    register_conditions: bool,
    else_blocks: bool,
    nested: bool,
) -> int:
    """Append one random ``if_else``; return the ancillas its deferred form may need."""
    cost = 0
    if register_conditions and rng.random() < 0.5:
        condition: tuple[ClassicalRegister | Clbit, int] = (mid, int(rng.integers(8)))
        cost += 1
    else:
        condition = (mid[int(rng.integers(3))], int(rng.integers(2)))
    with qc.if_test(condition) as else_:
        cost += _random_block(qc, rng, mid, nested)
    if else_blocks and rng.random() < 0.6:
        with else_:
            cost += _random_block(qc, rng, mid, nested=False)
    return cost


def _random_block(
    qc: QuantumCircuit, rng: np.random.Generator, mid: ClassicalRegister, nested: bool
) -> int:
    """One to three random operations inside a branch; may measure, reset or nest."""
    cost = 0
    for _ in range(int(rng.integers(1, 4))):
        roll = rng.random()
        if roll < 0.15:
            qc.measure(int(rng.integers(qc.num_qubits)), mid[int(rng.integers(3))])
            cost += 1
        elif roll < 0.25:
            qc.reset(int(rng.integers(qc.num_qubits)))
            cost += 1
        elif roll < 0.4 and nested:
            with qc.if_test((mid[int(rng.integers(3))], int(rng.integers(2)))):
                _random_gate(qc, rng, qc.qubits)
        else:
            _random_gate(qc, rng, qc.qubits)
    return cost


def _random_dynamic_builders() -> Iterator[tuple[str, Builder]]:
    for n, depth, mids, seed in ((3, 4, 2, 61), (4, 5, 3, 62), (5, 4, 3, 63), (6, 4, 4, 64)):
        yield (
            f"random_mid_measurements_n{n}_depth{depth}_{mids}mids_seed{seed}",
            lambda n=n, depth=depth, mids=mids, seed=seed: _random_with_mid_measurements(
                n, depth, mids, seed
            ),
        )
    for n, depth, mids, seed in ((8, 3, 3, 65), (10, 3, 4, 66), (12, 2, 3, 67), (2, 8, 3, 68)):
        yield (
            f"random_mid_measurements_n{n}_depth{depth}_{mids}mids_seed{seed}",
            lambda n=n, depth=depth, mids=mids, seed=seed: _random_with_mid_measurements(
                n, depth, mids, seed
            ),
        )
    for n, steps, resets, seed in ((2, 10, 2, 71), (3, 14, 3, 72), (5, 20, 3, 73), (8, 24, 4, 74)):
        yield (
            f"random_resets_n{n}_{steps}steps_{resets}resets_seed{seed}",
            lambda n=n, steps=steps, resets=resets, seed=seed: _random_with_resets(
                n, steps, resets, seed
            ),
        )
    for n, depth, seed in ((3, 4, 118), (5, 3, 125), (6, 3, 120), (4, 6, 125)):
        yield (
            f"random_circuit_with_resets_n{n}_depth{depth}_seed{seed}",
            lambda n=n, depth=depth, seed=seed: standard(
                random_circuit(n, depth, max_operands=3, measure=True, reset=True, seed=seed)
            ),
        )
    cases = (
        ("bit_conditions", 3, 12, 81, False, False, False),
        ("bit_conditions_else", 4, 14, 82, False, True, False),
        ("register_conditions", 3, 12, 83, True, False, False),
        ("register_conditions_else", 4, 16, 84, True, True, False),
        ("mixed_conditions_else", 5, 18, 85, True, True, False),
        ("nested_conditions", 4, 16, 86, True, True, True),
        ("nested_bit_conditions", 3, 14, 87, False, True, True),
        ("mixed_conditions", 7, 20, 88, True, True, False),
        ("nested_mixed_conditions", 9, 20, 89, True, True, True),
        ("long_bit_conditions", 2, 24, 90, False, True, True),
    )
    for label, n, steps, seed, registers, elses, nested in cases:
        yield (
            f"random_if_else_{label}_n{n}_seed{seed}",
            lambda n=n, steps=steps, seed=seed, registers=registers, elses=elses, nested=nested: (
                _random_dynamic(
                    n,
                    steps,
                    seed,
                    register_conditions=registers,
                    else_blocks=elses,
                    nested=nested,
                )
            ),
        )
    for n, depth, seed in ((3, 4, 100), (4, 6, 101), (3, 4, 139), (4, 4, 122)):
        yield (
            f"random_circuit_conditional_n{n}_depth{depth}_seed{seed}",
            lambda n=n, depth=depth, seed=seed: standard(
                random_circuit(n, depth, max_operands=3, measure=True, conditional=True, seed=seed)
            ),
        )
    for n, depth, seed in ((4, 6, 118), (6, 3, 139), (5, 3, 153)):
        yield (
            f"random_circuit_conditional_with_resets_n{n}_depth{depth}_seed{seed}",
            lambda n=n, depth=depth, seed=seed: standard(
                random_circuit(
                    n, depth, max_operands=3, measure=True, conditional=True, reset=True, seed=seed
                )
            ),
        )


# --- textbook states and dynamic protocols ---------------------------------------------------


def _ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    qc.h(0)
    for qubit in range(n - 1):
        qc.cx(qubit, qubit + 1)
    qc.measure_all()
    return qc


def _w_state(n: int) -> QuantumCircuit:
    """W state by the standard cascade of RY-split amplitudes and CNOTs."""
    qc = QuantumCircuit(n)
    qc.x(0)
    for k in range(n - 1):
        theta = 2 * math.acos(math.sqrt(1 / (n - k)))
        qc.cry(theta, k, k + 1)
        qc.cx(k + 1, k)
    return _measured(qc)


def _bell(kind: int) -> QuantumCircuit:
    qc = QuantumCircuit(2, 2)
    if kind & 1:
        qc.x(0)
    if kind & 2:
        qc.x(1)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def _teleport(theta: float, phi: float) -> QuantumCircuit:
    q = QuantumRegister(3, "q")
    m = ClassicalRegister(2, "m")
    out = ClassicalRegister(1, "out")
    qc = QuantumCircuit(q, m, out)
    qc.ry(theta, 0)
    qc.rz(phi, 0)
    qc.h(1)
    qc.cx(1, 2)
    qc.cx(0, 1)
    qc.h(0)
    qc.measure(0, m[0])
    qc.measure(1, m[1])
    with qc.if_test((m[1], 1)):
        qc.x(2)
    with qc.if_test((m[0], 1)):
        qc.z(2)
    qc.rz(-phi, 2)
    qc.ry(-theta, 2)
    qc.measure(2, out[0])
    return qc


def _teleport_register_conditions() -> QuantumCircuit:
    q = QuantumRegister(3, "q")
    m = ClassicalRegister(2, "m")
    out = ClassicalRegister(1, "out")
    qc = QuantumCircuit(q, m, out)
    qc.u(1.1, 0.4, -0.3, 0)
    qc.h(1)
    qc.cx(1, 2)
    qc.cx(0, 1)
    qc.h(0)
    qc.measure([0, 1], [m[0], m[1]])
    corrections = {0: [], 1: ["z"], 2: ["x"], 3: ["x", "z"]}
    for value, gates in corrections.items():
        if gates:
            with qc.if_test((m, value)):
                for gate in gates:
                    getattr(qc, gate)(2)
    qc.measure(2, out[0])
    return qc


def _entanglement_swapping() -> QuantumCircuit:
    q = QuantumRegister(4, "q")
    m = ClassicalRegister(2, "m")
    out = ClassicalRegister(2, "out")
    qc = QuantumCircuit(q, m, out)
    qc.h([0, 2])
    qc.cx(0, 1)
    qc.cx(2, 3)
    qc.cx(1, 2)
    qc.h(1)
    qc.measure(1, m[0])
    qc.measure(2, m[1])
    with qc.if_test((m[1], 1)):
        qc.x(3)
    with qc.if_test((m[0], 1)) as else_:
        qc.z(3)
    with else_:
        qc.id(3)
    qc.cx(0, 3)
    qc.h(0)
    qc.measure(0, out[0])
    qc.measure(3, out[1])
    return qc


def _repeat_until_success(attempts: int) -> QuantumCircuit:
    """Two-ancilla gadget on a |+> target, retried (nested in the failure branch) on failure."""
    target, a0, a1 = QuantumRegister(1, "t"), QuantumRegister(1, "a0"), QuantumRegister(1, "a1")
    tries = [ClassicalRegister(2, f"try{k}") for k in range(attempts)]
    out = ClassicalRegister(1, "out")
    qc = QuantumCircuit(target, a0, a1, *tries, out)
    qc.h(target)

    def attempt(k: int) -> None:
        qc.h([a0[0], a1[0]])
        qc.ccx(a0[0], a1[0], target[0])
        qc.s(target)
        qc.ccx(a0[0], a1[0], target[0])
        qc.z(target)
        qc.h([a0[0], a1[0]])
        qc.measure([a0[0], a1[0]], tries[k])
        if k + 1 < attempts:
            with qc.if_test((tries[k], 0)) as else_:
                qc.s(target)
            with else_:
                qc.reset([a0[0], a1[0]])
                attempt(k + 1)

    attempt(0)
    qc.h(target)
    qc.measure(target, out)
    return qc


def _dynamic_ghz(data: int) -> QuantumCircuit:
    """GHZ on ``data`` qubits via parity measurements on ancillas between them and feed-forward."""
    n = 2 * data - 1
    qc = QuantumCircuit(n)
    parity = ClassicalRegister(data - 1, "parity")
    out = ClassicalRegister(data, "c")
    qc.add_register(parity)
    qc.add_register(out)
    qc.h(range(0, n, 2))
    for k in range(data - 1):
        qc.cx(2 * k, 2 * k + 1)
        qc.cx(2 * k + 2, 2 * k + 1)
    for k in range(data - 1):
        qc.measure(2 * k + 1, parity[k])
    for k in range(data - 1):
        with qc.if_test((parity[k], 1)):
            for later in range(k + 1, data):
                qc.x(2 * later)
    for k in range(data):
        qc.measure(2 * k, out[k])
    return qc


def _iterative_phase_estimation(bits: int, phase: float) -> QuantumCircuit:
    """Kitaev-style IPE with one ancilla, reset between rounds and feed-forward corrections."""
    anc, target = QuantumRegister(1, "anc"), QuantumRegister(1, "target")
    c = ClassicalRegister(bits, "c")
    qc = QuantumCircuit(anc, target, c)
    qc.x(target)
    for k in range(bits):
        if k:
            qc.reset(anc)
        qc.h(anc)
        qc.cp(2 * math.pi * phase * 2 ** (bits - 1 - k), anc[0], target[0])
        for j in range(k):
            with qc.if_test((c[j], 1)):
                qc.p(-math.pi / 2 ** (k - j), anc)
        qc.h(anc)
        qc.measure(anc, c[k])
    return qc


def _bit_flip_code(error_qubit: int | None) -> QuantumCircuit:
    data, anc = QuantumRegister(3, "d"), QuantumRegister(2, "anc")
    syndrome, out = ClassicalRegister(2, "syn"), ClassicalRegister(3, "out")
    qc = QuantumCircuit(data, anc, syndrome, out)
    qc.ry(0.9, data[0])
    qc.cx(data[0], data[1])
    qc.cx(data[0], data[2])
    if error_qubit is not None:
        qc.x(data[error_qubit])
    qc.cx(data[0], anc[0])
    qc.cx(data[1], anc[0])
    qc.cx(data[1], anc[1])
    qc.cx(data[2], anc[1])
    qc.measure(anc, syndrome)
    for value, qubit in ((1, 0), (3, 1), (2, 2)):
        with qc.if_test((syndrome, value)):
            qc.x(data[qubit])
    qc.cx(data[0], data[2])
    qc.cx(data[0], data[1])
    qc.measure(data, out)
    return qc


def _repeated_parity_checks(rounds: int) -> QuantumCircuit:
    """ZZ checks on a Bell pair with one ancilla reset and reused each round."""
    q = QuantumRegister(3, "q")
    checks = ClassicalRegister(rounds, "zz")
    out = ClassicalRegister(2, "c")
    qc = QuantumCircuit(q, checks, out)
    qc.h(0)
    qc.cx(0, 1)
    qc.ry(0.3, 1)
    for k in range(rounds):
        if k:
            qc.reset(2)
        qc.cx(0, 2)
        qc.cx(1, 2)
        qc.measure(2, checks[k])
    qc.measure([0, 1], out)
    return qc


def _semiclassical_qft(n: int, seed: int) -> QuantumCircuit:
    """Measured QFT (Griffiths-Niu): each measured bit classically controls later rotations."""
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n)
    bits = [ClassicalRegister(1, f"c{k}") for k in range(n)]
    for register in bits:
        qc.add_register(register)
    for qubit in range(n):
        qc.u(*(float(round(x, 6)) for x in rng.uniform(0, math.pi, 3)), qubit)
    for k in range(n):
        for j in range(k):
            with qc.if_test((bits[j], 1)):
                qc.p(math.pi / 2 ** (k - j), k)
        qc.h(k)
        qc.measure(k, bits[k][0])
    return qc


def _measure_then_conditional_x() -> QuantumCircuit:
    qc = QuantumCircuit(2, 3)
    qc.h(0)
    qc.ry(1.2, 1)
    qc.measure(0, 0)
    qc.measure(1, 1)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(0)
    with qc.if_test((qc.clbits[1], True)):
        qc.x(1)
    qc.cx(0, 1)
    qc.measure(1, 2)
    return qc


def _feed_forward_chain(n: int) -> QuantumCircuit:
    """Each qubit's measured bit decides whether the next qubit is flipped or rotated."""
    qc = QuantumCircuit(n, n)
    qc.h(0)
    qc.measure(0, 0)
    for k in range(1, n):
        qc.ry(0.4 * k, k)
        with qc.if_test((qc.clbits[k - 1], 1)) as else_:
            qc.x(k)
        with else_:
            qc.h(k)
        qc.measure(k, k)
    return qc


def _conditional_reset_and_remeasure() -> QuantumCircuit:
    qc = QuantumCircuit(3, 4)
    qc.h([0, 1])
    qc.cx(1, 2)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.reset(1)
        qc.measure(2, 1)
    qc.measure(1, 2)
    qc.measure(2, 3)
    return qc


def _protocol_builders() -> Iterator[tuple[str, Builder]]:
    for n in (3, 5, 8, 12):
        yield f"ghz_n{n}_measure_all", lambda n=n: _ghz(n)
    for n in (3, 4, 6):
        yield f"w_state_n{n}", lambda n=n: _w_state(n)
    for kind, label in enumerate(("phi_plus", "phi_minus", "psi_plus", "psi_minus")):
        yield f"bell_{label}", lambda kind=kind: _bell(kind)
    for label, theta, phi in (("zero", 0.0, 0.0), ("y_1p1", 1.1, 0.0), ("general", 2.3, 0.9)):
        yield (
            f"teleport_{label}_undone_on_receiver",
            lambda theta=theta, phi=phi: _teleport(theta, phi),
        )
    yield "teleport_register_conditions", _teleport_register_conditions
    yield "entanglement_swapping_with_else", _entanglement_swapping
    yield "repeat_until_success_2_attempts", lambda: _repeat_until_success(2)
    yield "repeat_until_success_3_attempts", lambda: _repeat_until_success(3)
    yield "dynamic_ghz_3_data_qubits", lambda: _dynamic_ghz(3)
    yield "dynamic_ghz_5_data_qubits", lambda: _dynamic_ghz(5)
    yield "iterative_phase_estimation_3bits_exact", lambda: _iterative_phase_estimation(3, 5 / 8)
    yield "iterative_phase_estimation_4bits_inexact", lambda: _iterative_phase_estimation(4, 0.3)
    yield "bit_flip_code_no_error", lambda: _bit_flip_code(None)
    yield "bit_flip_code_error_on_1", lambda: _bit_flip_code(1)
    yield "bit_flip_code_error_on_2", lambda: _bit_flip_code(2)
    yield "repeated_parity_checks_3_rounds", lambda: _repeated_parity_checks(3)
    yield "semiclassical_qft_n4_seed96", lambda: _semiclassical_qft(4, 96)
    yield "measure_then_conditional_x", _measure_then_conditional_x
    yield "feed_forward_chain_n5", lambda: _feed_forward_chain(5)
    yield "conditional_reset_and_remeasure", _conditional_reset_and_remeasure


def _builders() -> Iterator[tuple[str, Builder]]:
    yield from _qft_builders()
    yield from _qpe_builders()
    yield from _grover_builders()
    yield from _arithmetic_builders()
    yield from _library_family_builders()
    yield from _random_dynamic_builders()
    yield from _protocol_builders()
