"""Parameter sweeps: symbolic parameters in every notation, the batched kernel exact against
qiskit.quantum_info per binding, and errors that name the parameter."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp, Statevector

from dunes.errors import CircuitSyntaxError, CircuitValidationError
from dunes.quantum.gates import GATES
from dunes.quantum.observables import pauli_label
from dunes.quantum.sweep import parse_parametric, sweep

EXACT = 1e-10
NAMES = ("theta", "phi", "gamma")


def reference(circuit, values: dict[str, float], observables: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    state = Statevector(circuit.bind(values).to_qiskit())
    n = circuit.num_qubits
    return [state.expectation_value(SparsePauliOp(pauli_label(o, n))).real for o in observables]


@st.composite
def ansatz(draw: st.DrawFn) -> tuple[str, int]:
    n = draw(st.integers(1, 4))
    gates = [g for g in GATES.values() if g.num_qubits <= n]
    lines = []
    for _ in range(draw(st.integers(1, 12))):
        gate = draw(st.sampled_from(gates))
        qubits = draw(st.permutations(range(n)))[: gate.num_qubits]
        params = []
        for _ in range(gate.num_params):
            name = draw(st.sampled_from(NAMES))
            scale = draw(st.sampled_from(["", "2*", "-0.5*", "pi/4 + "]))
            params.append(draw(st.sampled_from([f"{scale}{name}", f"{name} - phi", "0.3"])))
        lines.append(f"{gate.name}({', '.join([*params, *map(str, qubits)])})")
    return "; ".join(lines), n


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ansatz(), st.integers(0, 2**32 - 1))
def test_every_binding_matches_quantum_info(case: tuple[str, int], seed: int) -> None:
    text, n = case
    circuit = parse_parametric(text, num_qubits=n)
    rng = np.random.default_rng(seed)
    size = 5
    bindings = {name: rng.uniform(-4, 4, size).tolist() for name in circuit.parameters}
    observables = ["Z" * n, "X0", "Y" * n] if n > 1 else ["Z", "X0", "Y"]
    out = sweep(circuit, bindings, observables=observables, probabilities=True)
    assert out.bindings == (size if circuit.parameters else 1)
    for i in range(out.bindings):
        values = {k: v[i] for k, v in bindings.items()}
        expected = reference(circuit, values, observables)
        got = [out.expectation_values[o][i] for o in observables]
        assert np.allclose(got, expected, atol=EXACT), (text, values)
        probs = Statevector(circuit.bind(values).to_qiskit()).probabilities_dict()
        assert out.probabilities is not None
        for key, value in probs.items():
            assert abs(out.probabilities[i].get(key, 0.0) - value) < EXACT


def test_the_same_circuit_in_every_notation() -> None:
    seed = parse_parametric("ry(theta, 0); cx(0, 1); rz(2*theta + phi, 1)")
    qasm = parse_parametric(
        'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] theta;\n'
        "input float[64] phi;\nqubit[2] q;\nry(theta) q[0];\ncx q[0], q[1];\n"
        "rz(2*theta + phi) q[1];\n"
    )
    as_json = parse_parametric(
        '[{"gate": "ry", "qubits": [0], "params": ["theta"]}, {"gate": "cx", "qubits": [0, 1]},'
        ' {"gate": "rz", "qubits": [1], "params": ["2*theta + phi"]}]'
    )
    theta, phi = Parameter("theta"), Parameter("phi")
    qc = QuantumCircuit(2)
    qc.ry(theta, 0)
    qc.cx(0, 1)
    qc.rz(2 * theta + phi, 1)
    from_qiskit = parse_parametric(qc)
    bindings = {"theta": [0.1, 1.2, 2.3], "phi": [0.4, -0.5, 0.6]}
    results = [
        sweep(c, bindings, observables=["ZZ", "X1"]).expectation_values
        for c in (seed, qasm, as_json, from_qiskit)
    ]
    for other in results[1:]:
        for label in ("ZZ", "X1"):
            assert np.allclose(other[label], results[0][label], atol=EXACT)
    assert seed.parameters == qasm.parameters == from_qiskit.parameters == ("phi", "theta")


def test_an_unbound_parameter_is_an_error_naming_it() -> None:
    circuit = parse_parametric("ry(theta, 0); rx(gamma, 0)")
    with pytest.raises(CircuitValidationError, match="parameter gamma has no values"):
        sweep(circuit, {"theta": [0.0]})
    with pytest.raises(CircuitValidationError, match="delta is not a parameter"):
        sweep(circuit, {"theta": [0.0], "gamma": [1.0], "delta": [2.0]})
    with pytest.raises(CircuitValidationError, match="same, non-zero number"):
        sweep(circuit, {"theta": [0.0, 1.0], "gamma": [1.0]})
    with pytest.raises(CircuitValidationError, match="gamma"):
        circuit.bind({"theta": 1.0})
    with pytest.raises(CircuitSyntaxError, match="only"):
        parse_parametric("ry(theta.real, 0)")
    with pytest.raises(CircuitValidationError, match="if/else is not supported"):
        parse_parametric("measure(0); if(c==1) ry(theta, 0)")


def test_counts_are_sampled_per_binding_from_the_measured_qubits() -> None:
    circuit = parse_parametric("ry(theta, 0); h(1); measure(0)")
    out = sweep(circuit, {"theta": [0.0, np.pi]}, shots=500, seed=3)
    assert out.counts == [{"0": 500}, {"1": 500}]
    again = sweep(circuit, {"theta": [0.0, np.pi]}, shots=500, seed=3)
    assert again.counts == out.counts


def test_chunks_give_the_same_answers_as_one_pass() -> None:
    circuit = parse_parametric("h(0); ry(a, 1); cx(0, 2); rzz(b, 1, 2); rx(a*b, 0)")
    rng = np.random.default_rng(0)
    bindings = {"a": rng.uniform(0, 6, 50).tolist(), "b": rng.uniform(0, 6, 50).tolist()}
    whole = sweep(circuit, bindings, observables=["ZZZ", "X0"])
    small = sweep(circuit, bindings, observables=["ZZZ", "X0"], memory_bytes=8 * 16 * 3 * 7)
    for label in ("ZZZ", "X0"):
        assert np.allclose(whole.expectation_values[label], small.expectation_values[label])
    assert "chunks of 7" in small.engine


def test_the_aer_engine_gives_the_batched_answers() -> None:
    circuit = parse_parametric("h(0); ry(a, 1); cx(0, 2); rzz(b, 1, 2); rx(a*b - pi/3, 0); measure")
    rng = np.random.default_rng(4)
    bindings = {"a": rng.uniform(0, 6, 6).tolist(), "b": rng.uniform(0, 6, 6).tolist()}
    kw = {"observables": ["ZZZ", "X0", "Y1 Z2"], "probabilities": True}
    batched = sweep(circuit, bindings, engine="batched", **kw)  # type: ignore[arg-type]
    aer = sweep(circuit, bindings, engine="aer", **kw)  # type: ignore[arg-type]
    assert "Aer" in aer.engine and "batched" in batched.engine
    for label in kw["observables"]:  # type: ignore[union-attr]
        assert np.allclose(
            aer.expectation_values[label], batched.expectation_values[label], atol=EXACT
        )
    assert aer.probabilities is not None and batched.probabilities is not None
    for mine, theirs in zip(batched.probabilities, aer.probabilities, strict=True):
        assert set(mine) == set(theirs)
        assert all(abs(mine[k] - theirs[k]) < EXACT for k in mine)
    sampled = sweep(
        parse_parametric("ry(a, 0); h(1); measure(0)"),
        {"a": [0.0, np.pi]},
        engine="aer",
        shots=200,
        seed=1,
    )
    assert sampled.counts == [{"0": 200}, {"1": 200}]


def test_a_sweep_refuses_what_the_circuit_readers_refuse() -> None:
    with pytest.raises(CircuitValidationError, match="more than 65536 qubits"):
        parse_parametric("OPENQASM 3.0;\ninput float[64] t;\nqubit[999999999] q;\nrx(t) q[0];\n")
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', "gate g0 a { h a; }"]
    lines += [f"gate g{i} a {{ g{i - 1} a; g{i - 1} a; }}" for i in range(1, 40)]
    with pytest.raises(CircuitValidationError, match="expands to"):
        parse_parametric("\n".join([*lines, "qreg q[1];", "g39 q[0];"]))
