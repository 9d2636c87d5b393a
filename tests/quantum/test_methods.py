"""Limits belong to methods: each method where it is right, at sizes a statevector never reaches,
checked against exact answers (Aer has shipped wrong stabilizer and MPS results above 64 qubits
in some versions, so those sizes are tested, not assumed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Pauli, PauliList, StabilizerState, Statevector, random_clifford

from dunes.config import QuantumSettings
from dunes.errors import InsufficientMemoryError, SimulationError
from dunes.quantum import SimulationOptions, parse_circuit, simulate
from dunes.quantum.gates import GATES
from dunes.quantum.memory import mps_bound
from dunes.quantum.parse import from_qiskit
from dunes.quantum.stabilizer import _stim_gates, to_stim


def chain(n: int) -> str:
    return "; ".join(["h(0)", *(f"cx({i},{i + 1})" for i in range(n - 1))])


# --- the stabilizer, on stim, at any size ------------------------------------------------------


def test_ghz_of_a_thousand_qubits_counts_and_exact_distribution() -> None:
    n = 1000
    sampled = simulate(parse_circuit(chain(n) + "; measure"), SimulationOptions(shots=2000, seed=3))
    assert sampled.method == "stabilizer" and sampled.backend.startswith("stim")
    assert sampled.counts is not None and set(sampled.counts) == {"0" * n, "1" * n}
    assert abs(sampled.counts["0" * n] - 1000) < 150
    exact = simulate(parse_circuit(chain(n)))
    assert exact.probabilities == {"0" * n: 0.5, "1" * n: 0.5}
    assert exact.probabilities_of == "qubits" and exact.exact
    assert any("statevector would need" in r for r in exact.reasons)


def test_product_state_of_two_thousand_qubits_is_deterministic() -> None:
    n = 2000
    flipped = set(range(0, n, 7)) | {n - 1}
    text = "; ".join(f"x({q})" for q in sorted(flipped)) + f"; id({n - 2}); measure"
    result = simulate(parse_circuit(text), SimulationOptions(shots=50, seed=1))
    expected = "".join("1" if q in flipped else "0" for q in reversed(range(n)))
    assert result.counts == {expected: 50}


def z_parities(clifford: object) -> list[tuple[np.ndarray, int]]:
    """The Z-type elements of a stabilizer group, (qubits mask, parity), by GF(2) elimination.

    A product of stabilizers with no X part is +-Z on some qubits: every outcome has that parity.
    """
    stab = PauliList(clifford.to_labels(mode="S"))  # type: ignore[attr-defined]
    n = stab.num_qubits
    rows = np.concatenate([stab.x.astype(np.uint8), np.eye(n, dtype=np.uint8)], axis=1)
    pivot_row = 0
    for col in range(n):
        hits = [r for r in range(pivot_row, n) if rows[r, col]]
        if not hits:
            continue
        rows[[pivot_row, hits[0]]] = rows[[hits[0], pivot_row]]
        for r in range(n):
            if r != pivot_row and rows[r, col]:
                rows[r] ^= rows[pivot_row]
        pivot_row += 1
    parities = []
    for r in range(pivot_row, n):
        product = Pauli("I" * n)
        for i in np.flatnonzero(rows[r, n:]):
            product = product.dot(stab[int(i)])
        assert not product.x.any() and product.phase in (0, 2)
        parities.append((product.z.copy(), 0 if product.phase == 0 else 1))
    return parities


@pytest.mark.parametrize("n", [70, 150])
def test_random_clifford_above_64_qubits_agrees_with_quantum_info(n: int) -> None:
    clifford = random_clifford(n, seed=n)
    state = StabilizerState(clifford)
    spec = from_qiskit(clifford.to_circuit())
    sampled = simulate(spec, SimulationOptions(shots=300, seed=2, method="stabilizer"))
    assert sampled.counts is not None
    parities = z_parities(clifford)
    for key in sampled.counts:
        bits = np.array([int(b) for b in reversed(key)], dtype=np.uint8)
        for mask, parity in parities:
            assert int(bits[mask].sum()) % 2 == parity
    # the random bits are fair: 300 shots put each single-qubit mean within 0.3 of 0
    shots = sum(sampled.counts.values())
    for qubit in range(0, n, 7):
        exact = state.expectation_value(Pauli(("I" * (n - 1 - qubit)) + "Z" + "I" * qubit))
        mean = sum(c * (1 - 2 * int(k[n - 1 - qubit])) for k, c in sampled.counts.items()) / shots
        assert mean == pytest.approx(exact, abs=1e-12 if exact else 0.3)
    rng = np.random.default_rng(n)
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(6)]
    labels += [label.lstrip("+-") for label in clifford.to_labels(mode="S")[:3]]
    result = simulate(spec, SimulationOptions(statevector=False, observables=tuple(labels)))
    assert result.expectation_values is not None
    for label in labels:
        assert result.expectation_values[label] == pytest.approx(
            state.expectation_value(Pauli(label)), abs=1e-12
        )


def test_few_random_bits_give_the_exact_distribution_of_a_wide_clifford_state() -> None:
    n = 120
    qc = QuantumCircuit(n)
    for q in (0, 40, 80):
        qc.h(q)
        for target in range(q + 1, q + 40):
            qc.cx(q, target)
    qc.s(5)
    qc.x(119)
    result = simulate(from_qiskit(qc))
    assert result.probabilities is not None and len(result.probabilities) == 8
    # three independent GHZ blocks of 40 qubits, x on the last one: 8 outcomes of 1/8
    for bits, p in result.probabilities.items():
        blocks = {bits[::-1][q : q + 40] for q in (0, 40, 80)}
        assert all(
            len(set(block.rstrip("1" if block.endswith("1") else "0"))) <= 1 for block in blocks
        )
        assert p == pytest.approx(1 / 8, abs=1e-15)


def test_too_many_outcomes_are_sampled_and_said_so() -> None:
    text = "; ".join(f"h({q})" for q in range(40))
    result = simulate(parse_circuit(text), settings=QuantumSettings(fallback_shots=500))
    assert result.probabilities is None and result.counts is not None
    assert result.exact is False and result.shots == 500
    assert any("more than 65536 outcomes" in r for r in result.reasons)


@pytest.mark.parametrize("name", [g.name for g in GATES.values() if g.clifford])
def test_every_clifford_gate_means_the_same_on_stim(name: str) -> None:
    gate = GATES[name]
    import stim

    qubits = tuple(range(gate.num_qubits))
    text = f"{name}({','.join(map(str, qubits))})"
    spec = parse_circuit(text)
    circuit = stim.Circuit()
    for stim_name, targets in _stim_gates(name):
        circuit.append(stim_name, list(targets))
    ours = stim.Tableau.from_circuit(circuit, ignore_measurement=True)
    matrix = np.asarray(
        __import__("qiskit.quantum_info", fromlist=["Operator"]).Operator(spec.to_qiskit()).data
    )
    assert ours == stim.Tableau.from_unitary_matrix(matrix, endian="little")


def test_feedback_on_stim_teleports_along_a_long_chain() -> None:
    hops = 60  # 121 qubits: far past any statevector, exact answer: the last bit is always 1
    ops = ["x(0)"]
    for hop in range(hops):
        src, a, b = 2 * hop, 2 * hop + 1, 2 * hop + 2
        ops += [f"h({a})", f"cx({a},{b})", f"cx({src},{a})", f"h({src})"]
        ops += [f"measure({src},{2 * hop})", f"measure({a},{2 * hop + 1})"]
        ops += [f"if(c[{2 * hop + 1}]==1) x({b})", f"if(c[{2 * hop}]==1) z({b})"]
    ops.append(f"measure({2 * hops},{2 * hops})")
    spec = parse_circuit("; ".join(ops))
    assert to_stim(spec) is not None
    result = simulate(spec, SimulationOptions(shots=200, seed=4))
    assert result.backend.startswith("stim")
    assert result.counts is not None
    assert all(key[0] == "1" for key in result.counts)  # clbit 2*hops is the leftmost


# --- matrix product states above 64 qubits --------------------------------------------------


def test_ghz_of_a_hundred_qubits_with_rotations_on_mps() -> None:
    n = 100
    angles = [0.03 * (q + 1) for q in range(n)]
    text = chain(n) + "; " + "; ".join(f"ry({a!r}, {q})" for q, a in enumerate(angles))
    observables = ("Z0 Z99", "Z17 Z63", "Z50", "X3 X4")
    result = simulate(parse_circuit(text), SimulationOptions(observables=observables))
    assert result.method == "matrix_product_state"
    assert result.expectation_values is not None
    # ry rotates Z into cos(a) Z + sin(a) X; on a GHZ state <ZZ> = 1, <XX> = <Z> = 0 (n > 2)
    expected = {
        "Z0 Z99": math.cos(angles[0]) * math.cos(angles[99]),
        "Z17 Z63": math.cos(angles[17]) * math.cos(angles[63]),
        "Z50": 0.0,
        "X3 X4": math.sin(angles[3]) * math.sin(angles[4]),
    }
    for label, value in expected.items():
        assert result.expectation_values[label] == pytest.approx(value, abs=1e-10), label
    sampled = simulate(parse_circuit(chain(n) + "; measure"), SimulationOptions(shots=400, seed=9))
    assert sampled.counts is not None and set(sampled.counts) <= {"0" * n, "1" * n}


def test_product_state_of_a_hundred_qubits_on_mps() -> None:
    n = 100
    text = "; ".join(f"ry({0.02 * q!r}, {q})" for q in range(n)) + "; t(0); cx(0, 1)"
    result = simulate(parse_circuit(text), SimulationOptions(observables=("Z0", "Z42", "Z99")))
    assert result.method == "matrix_product_state"
    values = result.expectation_values or {}
    assert values["Z42"] == pytest.approx(math.cos(0.02 * 42), abs=1e-12)
    assert values["Z99"] == pytest.approx(math.cos(0.02 * 99), abs=1e-12)


def brickwork(n: int, depth: int) -> str:
    rng = np.random.default_rng(n * depth)
    ops = []
    for layer in range(depth):
        angles = rng.uniform(0, 3, (n, 3)).tolist()
        ops += [f"u({a!r},{b!r},{c!r},{q})" for q, (a, b, c) in enumerate(angles)]
        ops += [f"cx({q},{q + 1})" for q in range(layer % 2, n - 1, 2)]
    return "; ".join(ops)


def test_shallow_brickwork_on_mps_matches_the_statevector() -> None:
    spec = parse_circuit(brickwork(16, 4))
    mps = simulate(spec, SimulationOptions(method="matrix_product_state", statevector=True))
    assert mps.state is not None
    assert np.max(np.abs(mps.state - Statevector(spec.to_qiskit()).data)) < 1e-9
    wide = simulate(parse_circuit(brickwork(48, 4)), SimulationOptions(shots=200, seed=2))
    assert wide.method == "matrix_product_state" and wide.counts is not None
    assert sum(wide.counts.values()) == 200
    assert mps_bound(parse_circuit(brickwork(48, 4))).max_bond <= 4


def test_mps_bound_is_tight_for_chains_and_capped_by_the_cut() -> None:
    assert mps_bound(parse_circuit(chain(80))).max_bond == 2
    dense = "; ".join(["h(0); t(0); cx(0,9)"] * 30)
    bound = mps_bound(parse_circuit(dense))
    assert bound.max_bond == 2**5  # the middle cut of 10 qubits holds at most 2^5


def test_too_entangled_for_the_host_is_refused_with_what_would_work() -> None:
    text = "; ".join(["h(0); t(0); cx(0,45)"] * 30)
    with pytest.raises(InsufficientMemoryError) as info:
        simulate(parse_circuit(text))
    message = str(info.value)
    assert "46-qubit circuit as a statevector needs" in message
    assert "--method matrix_product_state tries" in message


def test_a_capped_matrix_product_state_refuses_an_approximate_answer() -> None:
    text = brickwork(30, 12)  # bonds grow to 2^6; the memory allowed holds bond dimension 4
    limits = QuantumSettings(cpu_memory_fraction=2e-6)
    with pytest.raises((SimulationError, InsufficientMemoryError)) as info:
        simulate(
            parse_circuit(text),
            SimulationOptions(method="matrix_product_state", shots=10),
            settings=limits,
        )
    assert "approximate" in str(info.value) or "usable" in str(info.value)


# --- what is reported, said in reasons --------------------------------------------------------


def test_measured_as_soon_as_done_reports_the_state_before_the_measurements() -> None:
    result = simulate(parse_circuit("h(0); measure(0); h(1); measure(1)"))
    assert result.state_of == "before_final_measurements"
    assert result.probabilities == pytest.approx({"00": 0.25, "01": 0.25, "10": 0.25, "11": 0.25})
    assert any("before the final measurements" in r for r in result.reasons)


def test_mid_circuit_measurement_is_exact_and_says_so() -> None:
    result = simulate(parse_circuit("h(0); measure(0, 0); cx(0, 1); measure(1, 1)"))
    assert result.statevector is None and result.probabilities_of == "clbits"
    assert result.probabilities == pytest.approx({"00": 0.5, "11": 0.5})
    assert any("exact distribution of the classical bits" in r for r in result.reasons)


def test_an_asked_for_statevector_of_a_branching_circuit_is_one_labelled_branch() -> None:
    spec = parse_circuit("h(0); measure(0, 0); h(0); h(1)")
    first = simulate(spec, SimulationOptions(statevector=True, seed=12))
    second = simulate(spec, SimulationOptions(statevector=True, seed=12))
    assert first.state_of == "sampled_branch" and first.seed == 12
    assert first.statevector == second.statevector
    assert any("seed 12" in r for r in first.reasons)
    certain = simulate(parse_circuit("x(0); measure(0, 0); if(c==1) x(0); h(1)"))
    assert certain.state_of == "only_branch" and certain.state is not None
    assert abs(certain.state[0]) == pytest.approx(2**-0.5)


def test_reset_and_reuse_stays_one_branch() -> None:
    text = "; ".join(["h(0); cx(0, 1); measure(0, 0); reset(0); reset(1)"] * 10)
    result = simulate(parse_circuit(text + "; h(0)"))
    assert result.branches == 2  # the last measurement's two values; every reset merged


def test_many_threads_sampling_clifford_circuits_at_once_all_answer() -> None:
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> dict[str, int] | None:
        text = "; ".join(f"x({q})" for q in range(5) if i >> q & 1) or "id(0)"
        spec = parse_circuit(text, num_qubits=5)
        return simulate(spec, SimulationOptions(shots=50, seed=i)).counts

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(16)))
    assert answers == [{format(i, "05b"): 50} for i in range(16)]
