"""The exact reference is trustworthy: known answers, self-consistency, Qiskit's pass and Aer.

The corpus is only useful for judging the simulator if the reference it is judged against is right,
so the reference is checked here from several independent directions.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Clbit, ControlFlowOp
from qiskit.circuit.classical import expr
from qiskit.synthesis import synth_qft_full
from qiskit.transpiler.passes import RemoveFinalMeasurements
from qiskit_aer import AerSimulator

from tests.quantum.corpus.files import (
    invalid_files,
    load_with_qiskit,
    qasm_files,
    qasm_version,
)
from tests.quantum.corpus.library import MAX_QUBITS, STANDARD_GATES, library_circuits
from tests.quantum.corpus.reference import (
    clbit_distribution,
    final_measurements,
    is_dynamic,
    sampled_tv_bound,
    state_probabilities,
    total_variation,
)

SHOTS = 10_000
EXACT = 1e-9


@cache
def corpus() -> tuple[tuple[str, QuantumCircuit], ...]:
    """Every corpus circuit: the loaded QASM files, then the library circuits."""
    files = [(path.name, load_with_qiskit(path)) for path in qasm_files()]
    return (*files, *library_circuits())


def _ids(kind: str) -> list[str]:
    return [name for name, qc in corpus() if is_dynamic(qc) == (kind == "dynamic")]


def _circuit(name: str) -> QuantumCircuit:
    return dict(corpus())[name]


def _marginal(probabilities: dict[str, float], key: str, positions: list[int]) -> float:
    """Probability that the clbits at ``positions`` (0 = rightmost) read ``key`` (rightmost last)."""
    total = 0.0
    for outcome, probability in probabilities.items():
        bits = "".join(outcome[-1 - position] for position in reversed(positions))
        if bits == key:
            total += probability
    return total


def _assert_close(actual: dict[str, float], expected: dict[str, float]) -> None:
    assert set(actual) == {key for key, value in expected.items() if value >= 1e-12}
    for key, value in expected.items():
        assert actual.get(key, 0.0) == pytest.approx(value, abs=EXACT), key


# --- known answers ---------------------------------------------------------------------------


def test_measured_bell_pair_gives_00_and_11_at_one_half() -> None:
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    _assert_close(clbit_distribution(qc), {"00": 0.5, "11": 0.5})
    _assert_close(clbit_distribution(qc, defer_all=True), {"00": 0.5, "11": 0.5})
    _assert_close(state_probabilities(qc), {"00": 0.5, "11": 0.5})


@pytest.mark.parametrize(("theta", "phi"), [(0.0, 0.0), (1.2, 0.0), (2.3, 0.9), (math.pi, 0.4)])
def test_teleportation_delivers_the_input_qubit_distribution(theta: float, phi: float) -> None:
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
    qc.measure([0, 1], [m[0], m[1]])
    with qc.if_test((m[1], 1)):
        qc.x(2)
    with qc.if_test((m[0], 1)):
        qc.z(2)
    qc.measure(2, out[0])
    distribution = clbit_distribution(qc)
    assert _marginal(distribution, "1", [2]) == pytest.approx(math.sin(theta / 2) ** 2, abs=EXACT)
    for bits in ("00", "01", "10", "11"):
        assert _marginal(distribution, bits, [0, 1]) == pytest.approx(0.25, abs=EXACT)
    # without the corrections the receiver's qubit is maximally mixed whatever the input
    plain = qc.copy_empty_like()
    for instruction in qc.data:
        if not isinstance(instruction.operation, ControlFlowOp):
            plain.append(instruction)
    assert _marginal(clbit_distribution(plain), "1", [2]) == pytest.approx(0.5, abs=EXACT)


def test_reset_gives_zero_even_inside_a_branch() -> None:
    qc = QuantumCircuit(2, 3)
    qc.h(0)
    qc.x(1)
    qc.reset(1)
    qc.measure(1, 0)
    qc.h(1)
    qc.measure(0, 1)
    with qc.if_test((qc.clbits[1], 1)):
        qc.reset(1)
    qc.measure(1, 2)
    expected = {"000": 0.25, "100": 0.25, "010": 0.5}
    _assert_close(clbit_distribution(qc), expected)


def test_measure_then_conditional_x_always_ends_in_zero() -> None:
    qc = QuantumCircuit(1, 2)
    qc.ry(1.1, 0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(0)
    qc.measure(0, 1)
    p1 = math.sin(0.55) ** 2
    _assert_close(clbit_distribution(qc), {"00": 1 - p1, "01": p1})


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7])
def test_qft_on_all_zeros_is_uniform(n: int) -> None:
    qc = synth_qft_full(n)
    qc.measure_all()
    uniform = {format(k, f"0{n}b"): 2**-n for k in range(2**n)}
    _assert_close(clbit_distribution(qc), uniform)
    _assert_close(state_probabilities(qc), uniform)


def test_unwritten_clbits_read_zero_and_loose_bits_keep_their_place() -> None:
    qc = QuantumCircuit(2)
    first = ClassicalRegister(2, "first")
    loose = Clbit()
    last = ClassicalRegister(1, "last")
    qc.add_register(first)
    qc.add_bits([loose])
    qc.add_register(last)
    qc.x(0)
    qc.h(1)
    qc.measure(0, loose)
    qc.measure(1, first[1])
    _assert_close(clbit_distribution(qc), {"0100": 0.5, "0110": 0.5})


def test_no_clbits_gives_the_empty_outcome() -> None:
    qc = QuantumCircuit(2)
    qc.h(0)
    assert clbit_distribution(qc) == {"": pytest.approx(1.0)}


def test_register_condition_with_else_and_nested_condition() -> None:
    qc = QuantumCircuit(3, 3)
    qc.h([0, 1])
    qc.measure([0, 1], [0, 1])
    with qc.if_test((qc.cregs[0], 3)) as else_:
        qc.x(2)
    with else_, qc.if_test((qc.clbits[0], 1)):
        qc.h(2)
    qc.measure(2, 2)
    expected = {"111": 0.25, "000": 0.25, "010": 0.25, "001": 0.125, "101": 0.125}
    _assert_close(clbit_distribution(qc), expected)


def test_measurement_in_a_branch_writes_only_in_that_branch() -> None:
    qc = QuantumCircuit(3, 2)
    qc.x(1)
    qc.measure(1, 1)  # c1 = 1 before the branch
    qc.h(0)
    qc.measure(0, 0)
    qc.h(2)
    with qc.if_test((qc.clbits[0], 1)):
        qc.measure(2, 1)  # only when c0 = 1 is c1 overwritten by a fair coin
    expected = {"10": 0.5, "01": 0.25, "11": 0.25}
    _assert_close(clbit_distribution(qc), expected)


def test_measurement_into_the_condition_bit_inside_its_own_branch() -> None:
    qc = QuantumCircuit(2, 1)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.measure(1, 0)  # qubit 1 is |0>, so a 1 turns into 0
    _assert_close(clbit_distribution(qc), {"0": 1.0})


def test_expression_conditions_match_tuple_conditions() -> None:
    def build(use_expr: bool) -> QuantumCircuit:
        qc = QuantumCircuit(3, 3)
        qc.h([0, 1])
        qc.ry(0.8, 2)
        qc.measure([0, 1], [0, 1])
        register = qc.cregs[0]
        condition = expr.logic_not(qc.clbits[1]) if use_expr else (qc.clbits[1], 0)
        with qc.if_test(condition):
            qc.x(2)
        with qc.if_test(expr.equal(register, 5) if use_expr else (register, 5)):
            qc.h(2)
        qc.measure(2, 2)
        return qc

    assert total_variation(clbit_distribution(build(True)), clbit_distribution(build(False))) < (
        EXACT
    )


def test_condition_on_a_never_written_bit_is_decided_classically() -> None:
    qc = QuantumCircuit(1, 2)
    with qc.if_test((qc.clbits[1], 0)):
        qc.x(0)
    with qc.if_test((qc.cregs[0], 2)):
        qc.h(0)
    qc.measure(0, 0)
    _assert_close(clbit_distribution(qc), {"01": 1.0})


def test_too_many_deferred_measurements_is_refused() -> None:
    qc = QuantumCircuit(18, 5)
    qc.h(range(18))
    for k in range(5):
        qc.measure(k, k)
        qc.h(k)
    with pytest.raises(ValueError, match="22 qubits"):
        clbit_distribution(qc)


def test_loops_are_refused() -> None:
    qc = QuantumCircuit(1, 1)
    with qc.while_loop((qc.clbits[0], 0)):
        qc.h(0)
        qc.measure(0, 0)
    with pytest.raises(ValueError, match="while_loop"):
        clbit_distribution(qc)


def test_state_probabilities_refuses_dynamic_circuits() -> None:
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    qc.h(0)
    qc.measure(0, 0)
    with pytest.raises(ValueError, match="clbit_distribution"):
        state_probabilities(qc)


# --- final measurements ----------------------------------------------------------------------


def test_final_measurement_rule() -> None:
    qc = QuantumCircuit(3, 4)
    qc.h(0)
    qc.measure(0, 0)  # final: the barrier after it does not count
    qc.barrier()
    qc.measure(1, 1)  # not final: c1 is read by the condition below
    with qc.if_test((qc.clbits[1], 1)):
        qc.x(2)
    qc.measure(2, 2)  # not final: the same qubit is measured again
    qc.measure(2, 3)  # final
    remaining, pairs = final_measurements(qc)
    assert pairs == [(0, 0), (2, 3)]
    assert [i.operation.name for i in remaining.data] == [
        "h",
        "barrier",
        "measure",
        "if_else",
        "measure",
    ]
    assert remaining.num_qubits == 3
    assert remaining.num_clbits == 4
    assert is_dynamic(qc)


def test_measurements_each_right_after_their_last_gate_are_final() -> None:
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.measure(0, 0)
    qc.h(1)
    qc.cx(1, 2)
    qc.measure(1, 1)
    qc.x(2)
    qc.measure(2, 2)
    assert not is_dynamic(qc)
    assert final_measurements(qc)[1] == [(0, 0), (1, 1), (2, 2)]


def _without_barriers(qc: QuantumCircuit) -> QuantumCircuit:
    out = qc.copy_empty_like()
    for instruction in qc.data:
        if instruction.operation.name != "barrier":
            out.append(instruction)
    return out


def _wires(qc: QuantumCircuit) -> dict[int, list[tuple[str, tuple[int, ...]]]]:
    """The sequence of operations on each qubit (order on a wire is all a DAG keeps)."""
    wires: dict[int, list[tuple[str, tuple[int, ...]]]] = {}
    for instruction in qc.data:
        qubits = tuple(qc.find_bit(bit).index for bit in instruction.qubits)
        for qubit in qubits:
            wires.setdefault(qubit, []).append((instruction.operation.name, qubits))
    return wires


def _comparable_with_qiskit_pass(qc: QuantumCircuit) -> bool:
    """No control flow, and no qubit or clbit measured twice.

    Qiskit's pass treats a measurement followed only by more measurements as final and ignores
    clbits; the rule here does not. Without repeated measurements the two rules coincide.
    """
    if any(isinstance(i.operation, ControlFlowOp) for i in qc.data):
        return False
    measures = [i for i in qc.data if i.operation.name == "measure"]
    qubits = Counter(qc.find_bit(i.qubits[0]).index for i in measures)
    clbits = Counter(qc.find_bit(i.clbits[0]).index for i in measures)
    return all(count == 1 for count in (*qubits.values(), *clbits.values()))


def test_final_measurements_agree_with_qiskit_remove_final_measurements() -> None:
    compared = 0
    for name, qc in corpus():
        if not _comparable_with_qiskit_pass(qc):
            continue
        plain = _without_barriers(qc)
        ours, _ = final_measurements(plain)
        theirs = RemoveFinalMeasurements()(plain)
        assert _wires(ours) == _wires(theirs), name
        compared += 1
    assert compared >= 120


def test_repeated_final_measurement_differs_from_qiskit_pass_as_documented() -> None:
    qc = QuantumCircuit(1, 2)
    qc.h(0)
    qc.measure(0, 0)
    qc.measure(0, 1)
    assert final_measurements(qc)[1] == [(0, 1)]
    assert "measure" not in RemoveFinalMeasurements()(qc).count_ops()
    _assert_close(clbit_distribution(qc), {"00": 0.5, "11": 0.5})


# --- self-consistency over the corpus --------------------------------------------------------


@pytest.mark.parametrize("name", _ids("static"))
def test_static_circuit_matches_state_probabilities(name: str) -> None:
    qc = _circuit(name)
    _, pairs = final_measurements(qc)
    expected: dict[str, float] = {}
    for outcome, probability in state_probabilities(qc).items():
        key = ["0"] * qc.num_clbits
        for qubit, clbit in pairs:
            key[qc.num_clbits - 1 - clbit] = outcome[qc.num_qubits - 1 - qubit]
        joined = "".join(key)
        expected[joined] = expected.get(joined, 0.0) + probability
    _assert_close(clbit_distribution(qc), expected)
    if qc.num_qubits + len(pairs) <= 14:
        _assert_close(clbit_distribution(qc, defer_all=True), expected)


@pytest.mark.parametrize("name", _ids("dynamic"))
def test_dynamic_circuit_defer_all_is_consistent(name: str) -> None:
    qc = _circuit(name)
    distribution = clbit_distribution(qc)
    assert sum(distribution.values()) == pytest.approx(1.0, abs=1e-9)
    ops = qc.count_ops()
    if qc.num_qubits + sum(ops.get(op, 0) for op in ("measure", "reset", "if_else")) <= 14:
        _assert_close(clbit_distribution(qc, defer_all=True), distribution)


@cache
def _aer() -> AerSimulator:
    """One simulator for all runs (building its transpiler target each time is slow).

    Shot branching simulates each distinct measurement branch once: same samples, less time.
    """
    return AerSimulator(shot_branching_enable=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", _ids("dynamic"))
def test_dynamic_circuit_agrees_with_aer_sampling(name: str) -> None:
    qc = _circuit(name)
    reference = clbit_distribution(qc)
    simulator = _aer()
    result = simulator.run(
        transpile(qc, simulator, optimization_level=0, seed_transpiler=7),
        shots=SHOTS,
        seed_simulator=20_240_611,
    ).result()
    counts = result.data(0)["counts"]
    sampled = {
        format(int(key, 16), f"0{qc.num_clbits}b"): count / SHOTS for key, count in counts.items()
    }
    distance = total_variation(reference, sampled)
    assert distance <= sampled_tv_bound(len(reference), SHOTS), (name, distance)


# --- the corpus itself -----------------------------------------------------------------------


def test_corpus_sizes() -> None:
    files = qasm_files()
    assert len(files) >= 60
    assert len(invalid_files()) >= 12
    assert len(library_circuits()) >= 100
    assert sum(is_dynamic(qc) for _, qc in corpus()) >= 40
    assert {path.suffix for path in files} == {".qasm", ".qasm3"}
    on_disk = {path.name for path in invalid_files()[0][0].parent.iterdir()} - {"EXPECTED.json"}
    assert on_disk == {path.name for path, _, _ in invalid_files()}


def test_quirky_bytes_are_on_disk() -> None:
    raw = {path.name: path.read_bytes() for path in qasm_files()}
    assert any(b"\r\n" in data for data in raw.values())
    assert any(data.startswith(b"\xef\xbb\xbf") for data in raw.values())
    assert any(b"\t" in data for data in raw.values())
    assert any(not data.endswith(b"\n") for data in raw.values())
    headerless = [name for name, data in raw.items() if b"OPENQASM" not in data]
    assert any(name.endswith(".qasm") for name in headerless)
    assert any(name.endswith(".qasm3") for name in headerless)
    assert any(b"OPENQASM 2;" in data for data in raw.values())


@pytest.mark.parametrize("path", qasm_files(), ids=lambda path: path.name)
def test_valid_file_loads_with_qiskit(path: Path) -> None:
    qc = load_with_qiskit(path)
    assert 1 <= qc.num_qubits <= 10
    assert qc.num_parameters == 0
    text = path.read_bytes().decode("utf-8")
    assert qasm_version(text, path.suffix) in (2, 3)


@pytest.mark.parametrize(
    ("path", "contains", "line"),
    [pytest.param(path, contains, line, id=path.name) for path, contains, line in invalid_files()],
)
def test_invalid_file_fails_to_load_with_qiskit(
    path: Path, contains: str, line: int | None
) -> None:
    assert contains == contains.lower() and contains
    assert line is None or line >= 1
    with pytest.raises(Exception):  # noqa: B017 - Qiskit raises several unrelated types
        load_with_qiskit(path)


def test_library_circuits_are_small_bound_and_standard() -> None:
    allowed = STANDARD_GATES | {"measure", "reset", "barrier", "if_else"}
    names = [name for name, _ in library_circuits()]
    assert len(names) == len(set(names))
    for name, qc in library_circuits():
        assert qc.num_qubits <= MAX_QUBITS, name
        assert qc.num_parameters == 0, name
        assert qc.num_clbits >= 1, name
        assert set(qc.count_ops()) <= allowed, (name, set(qc.count_ops()) - allowed)


def test_library_is_deterministic() -> None:
    again = library_circuits.__wrapped__()
    assert [name for name, _ in again] == [name for name, _ in library_circuits()]
    for (name, first), (_, second) in zip(library_circuits(), again, strict=True):
        assert first == second, name


def test_library_covers_each_family() -> None:
    names = " ".join(name for name, _ in library_circuits())
    for family in (
        "qft_",
        "iqft_",
        "qpe_",
        "_measured_when_done",
        "grover_",
        "draper_qft_adder",
        "cdkm_ripple_adder",
        "vbe_ripple_adder",
        "rg_qft_multiplier",
        "random_clifford_",
        "random_circuit_",
        "random_mid_measurements_",
        "random_resets_",
        "random_if_else_",
        "random_circuit_conditional_",
        "ghz_",
        "w_state_",
        "bell_",
        "teleport_",
        "entanglement_swapping",
        "repeat_until_success",
    ):
        assert family in names, family


# --- distances -------------------------------------------------------------------------------


def test_total_variation() -> None:
    assert total_variation({"0": 1.0}, {"0": 1.0}) == 0.0
    assert total_variation({"0": 1.0}, {"1": 1.0}) == 1.0
    assert total_variation({"00": 0.5, "11": 0.5}, {"00": 0.25, "01": 0.75}) == pytest.approx(0.75)


def test_sampled_tv_bound_holds_for_sampled_distributions() -> None:
    assert sampled_tv_bound(4, 20_000) == pytest.approx(
        math.sqrt((4 * math.log(2) + math.log(1e6)) / 40_000)
    )
    assert sampled_tv_bound(8, 20_000) > sampled_tv_bound(4, 20_000) > sampled_tv_bound(4, 80_000)
    rng = np.random.default_rng(5)
    probabilities = np.array([0.5, 0.25, 0.125, 0.0625, 0.0625])
    exact = {str(k): float(p) for k, p in enumerate(probabilities)}
    bound = sampled_tv_bound(len(probabilities), 2_000, confidence=1e-3)
    for _ in range(50):
        counts = rng.multinomial(2_000, probabilities)
        sampled = {str(k): c / 2_000 for k, c in enumerate(counts)}
        assert total_variation(exact, sampled) <= bound
    with pytest.raises(ValueError):
        sampled_tv_bound(0, 10)
