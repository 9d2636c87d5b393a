"""simulate() against Aer run directly, exact numpy math, and the JSON/artifact encoding."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from qiskit import QuantumCircuit, qasm2, qasm3
from qiskit.quantum_info import Pauli, Statevector
from qiskit_aer import AerSimulator

from dunes.config import QuantumSettings
from dunes.devices import discover
from dunes.errors import ArtifactError, CircuitValidationError, InsufficientMemoryError
from dunes.quantum import (
    SimulationOptions,
    SimulationResult,
    parse_circuit,
    simulate,
    simulate_many,
)
from dunes.quantum.result import Artifact, load_array

QASM2 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[4];
h q[0];
rx(0.37) q[1];
cx q[0],q[1];
u3(0.1,0.2,0.3) q[2];
cu1(pi/3) q[1],q[2];
ry(-1.1) q[3];
ccx q[0],q[2],q[3];
swap q[1],q[3];
rzz(0.7) q[0],q[3];
sdg q[2];
"""

QASM3 = """OPENQASM 3.0;
include "stdgates.inc";
qubit[4] q;
h q[0];
rx(0.37) q[1];
cx q[0], q[1];
U(0.1, 0.2, 0.3) q[2];
cp(pi/3) q[1], q[2];
ry(-1.1) q[3];
ccx q[0], q[2], q[3];
swap q[1], q[3];
crx(0.9) q[3], q[0];
sdg q[2];
"""


def aer_statevector(circuit: QuantumCircuit) -> np.ndarray:
    qc = circuit.copy()
    qc.save_statevector()
    return np.asarray(AerSimulator(method="statevector").run(qc).result().get_statevector())


def load_qasm2(text: str) -> QuantumCircuit:
    return qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)


@pytest.mark.parametrize(("text", "loads"), [(QASM2, load_qasm2), (QASM3, qasm3.loads)])
def test_openqasm_agrees_with_aer(text: str, loads: Callable[[str], QuantumCircuit]) -> None:
    reference = aer_statevector(loads(text))
    result = simulate(parse_circuit(text))
    assert result.state is not None
    assert np.max(np.abs(result.state - reference)) < 1e-10
    assert np.max(np.abs(np.asarray(result.statevector)[:, 0] - reference.real)) < 1e-10


def test_every_gate_matches_qiskit_statevector() -> None:
    text = (
        "h(0); x(1); y(2); z(0); s(1); sdg(2); t(0); tdg(1); sx(2); sxdg(0); rx(0.1,1); ry(0.2,2);"
        "rz(0.3,0); p(0.4,1); r(0.5,0.6,2); u(0.7,0.8,0.9,0); u2(0.3,0.4,1); cx(0,1); cy(1,2);"
        "cz(2,0); ch(0,1); cs(1,2); csdg(2,0); csx(0,1); swap(1,2); iswap(0,2); ecr(0,1);"
        "dcx(1,2); cp(0.5,0,1); crx(0.6,1,2); cry(0.7,2,0); crz(0.8,0,1); rxx(0.9,1,2);"
        "ryy(1.0,0,2); rzz(1.1,0,1); rzx(1.2,1,2); cu(0.1,0.2,0.3,0.4,0,2); ccx(0,1,2);"
        "ccz(2,1,0); cswap(0,1,2); rccx(1,2,0); c3x(0,1,2,3); id(3)"
    )
    spec = parse_circuit(text)
    expected = Statevector(spec.to_qiskit()).data
    result = simulate(spec)
    assert result.state is not None
    assert np.max(np.abs(result.state - expected)) < 1e-10


def test_expectation_values_match_numpy() -> None:
    spec = parse_circuit("ry(0.3, 0); rx(1.1, 1); cx(0, 1); h(2); rz(0.4, 2); cx(1, 2)")
    observables = ("ZZI", "XIY", "Z0 Z2", "IIZ", "Y1")
    result = simulate(spec, SimulationOptions(observables=observables))
    state = Statevector(spec.to_qiskit()).data
    labels = {"ZZI": "ZZI", "XIY": "XIY", "Z0 Z2": "ZIZ", "IIZ": "IIZ", "Y1": "IYI"}
    assert result.expectation_values is not None
    for text, label in labels.items():
        matrix = Pauli(label).to_matrix()
        exact = float(np.real(np.conj(state) @ matrix @ state))
        assert result.expectation_values[text] == pytest.approx(exact, abs=1e-10)


def test_bad_observable_is_a_validation_error() -> None:
    spec = parse_circuit("h(0); cx(0,1)")
    with pytest.raises(CircuitValidationError, match="has 3 Pauli letters; the circuit has 2"):
        simulate(spec, SimulationOptions(observables=("ZZZ",)))
    with pytest.raises(CircuitValidationError, match="qubit 4 out of range"):
        simulate(spec, SimulationOptions(observables=("Z4",)))


def test_probabilities_and_counts_follow_the_state() -> None:
    spec = parse_circuit("ry(1.0, 0); cx(0, 1)")
    result = simulate(spec, SimulationOptions(shots=4000, seed=3, statevector=True))
    p1 = math.sin(0.5) ** 2
    assert result.probabilities == pytest.approx({"00": 1 - p1, "11": p1}, abs=1e-12)
    assert result.counts is not None and set(result.counts) == {"00", "11"}
    assert sum(result.counts.values()) == 4000
    assert result.counts["11"] / 4000 == pytest.approx(p1, abs=0.03)


def test_seeded_runs_are_reproducible_and_seeds_matter() -> None:
    spec = parse_circuit("h(0); h(1); h(2); t(2); h(2); measure")
    first = simulate(spec, SimulationOptions(shots=300, seed=11))
    again = simulate(spec, SimulationOptions(shots=300, seed=11))
    other = simulate(spec, SimulationOptions(shots=300, seed=12))
    assert first.counts == again.counts
    assert first.counts != other.counts
    clifford = parse_circuit("h(0); cx(0,1); h(2); measure")
    a = simulate(clifford, SimulationOptions(shots=300, seed=5))
    b = simulate(clifford, SimulationOptions(shots=300, seed=5))
    assert a.method == "stabilizer" and a.counts == b.counts


def test_seeded_batch_gives_each_circuit_its_own_seeded_samples() -> None:
    spec = parse_circuit("h(0); h(1); t(1); h(1); measure")
    options = SimulationOptions(shots=200, seed=5)
    alone = simulate(spec, options).counts
    assert [r.counts for r in simulate_many([spec, spec, spec], options)] == [alone] * 3


def test_midcircuit_measurement_and_partial_measure() -> None:
    spec = parse_circuit("h(0); measure(0, 0); cx(0, 1); measure(1, 1)")
    result = simulate(spec, SimulationOptions(shots=200, seed=1))
    assert result.counts is not None and set(result.counts) <= {"00", "11"}
    partial = simulate(parse_circuit("x(0); h(1); measure(0)"), SimulationOptions(shots=50))
    assert partial.counts == {"1": 50}


def test_json_encoding_round_trips() -> None:
    result = simulate(parse_circuit("h(0); cp(pi/4, 0, 1); h(1)"))
    payload = json.loads(result.model_dump_json())
    assert payload["statevector"][0] == [pytest.approx(0.5), 0.0]
    assert all(len(pair) == 2 for pair in payload["statevector"])
    back = SimulationResult.model_validate(payload)
    assert back.state is not None and result.state is not None
    assert np.allclose(back.state, result.state, atol=1e-15)


def test_big_state_is_truncated_and_written_as_checked_artifact(tmp_path: Path) -> None:
    limits = QuantumSettings(statevector_json_max_qubits=4, top_amplitudes=3)
    spec = parse_circuit("ry(0.3, 0); h(1); cx(1, 2); h(3); rx(0.2, 4); cx(0, 5)")
    result = simulate(spec, settings=limits, artifacts_dir=tmp_path)
    assert result.statevector is None and result.statevector_truncated
    assert result.top_amplitudes is not None and len(result.top_amplitudes) == 3
    probs = [a.probability for a in result.top_amplitudes]
    assert probs == sorted(probs, reverse=True)
    assert result.artifact is not None
    full = load_array(result.artifact)
    assert full.shape == (64,)
    assert np.allclose(full, Statevector(spec.to_qiskit()).data, atol=1e-10)
    assert max(np.abs(full) ** 2) == pytest.approx(probs[0])
    # through JSON, the state comes back from the artifact
    back = SimulationResult.model_validate_json(result.model_dump_json())
    assert back.state is not None and np.array_equal(back.state, full)


def test_tampered_artifact_names_the_path(tmp_path: Path) -> None:
    limits = QuantumSettings(statevector_json_max_qubits=2)
    result = simulate(
        parse_circuit("h(0); cx(0, 1); t(2)"), settings=limits, artifacts_dir=tmp_path
    )
    assert result.artifact is not None
    path = Path(result.artifact.path)
    data = np.load(path)
    data[0] = 0.25
    np.save(path, data)
    with pytest.raises(ArtifactError) as info:
        load_array(result.artifact)
    assert str(path) in str(info.value) and "sha256" in str(info.value)
    path.unlink()
    with pytest.raises(ArtifactError, match="artifact missing"):
        load_array(result.artifact)
    bogus = Artifact(path=str(tmp_path / "x.npy"), sha256="0", shape=(2,), dtype="complex128")
    (tmp_path / "x.npy").write_bytes(b"not numpy")
    with pytest.raises(ArtifactError, match="unreadable"):
        load_array(bogus)


def test_state_too_big_for_host_memory_names_needed_and_available() -> None:
    layers = [f"h({q}); t({q})" for q in range(40)] + [f"cx({q},{q + 1})" for q in range(39)]
    spec = parse_circuit("; ".join(layers * 30))
    with pytest.raises(InsufficientMemoryError) as info:
        simulate(spec)
    message = str(info.value)
    assert "40-qubit circuit as a statevector needs 16.0 TiB" in message
    assert "usable" in message and "what would work" in message
    assert "matrix product state could need up to" in message


def test_limits_are_enforced() -> None:
    with pytest.raises(CircuitValidationError, match="limit is 3"):
        simulate(parse_circuit("h(0)", num_qubits=4), settings=QuantumSettings(max_qubits=3))
    with pytest.raises(CircuitValidationError, match="shots=20 exceeds"):
        simulate(
            parse_circuit("h(0)"),
            SimulationOptions(shots=20),
            settings=QuantumSettings(max_shots=10),
        )


def test_simulate_many_keeps_order_across_option_groups() -> None:
    specs = [
        parse_circuit("x(0)"),
        parse_circuit("h(0); cx(0, 1); measure"),  # Clifford: stabilizer group
        parse_circuit("x(1)", num_qubits=2),
        parse_circuit("t(0); x(0); measure"),
    ]
    results = simulate_many(specs, SimulationOptions(shots=64, seed=2, statevector=None))
    assert [r.circuit for r in results] == [s.to_seed() for s in specs]
    assert results[0].counts == {"1": 64}
    assert results[2].counts == {"10": 64}
    assert results[1].method == "stabilizer" and results[3].method == "statevector"
    assert results[3].counts == {"1": 64}


def test_density_matrix_and_mps_methods() -> None:
    spec = parse_circuit("h(0); cx(0, 1); t(1)")
    dm = simulate(spec, SimulationOptions(method="density_matrix"))
    assert dm.probabilities == pytest.approx({"00": 0.5, "11": 0.5})
    mps = simulate(spec, SimulationOptions(method="matrix_product_state"))
    assert mps.state is not None
    assert np.allclose(mps.state, Statevector(spec.to_qiskit()).data, atol=1e-10)


def test_result_says_where_and_how_it_ran() -> None:
    result = simulate(parse_circuit("h(0)"), inventory=discover())
    assert result.device == "cpu" and result.aer_device == "CPU"
    assert result.backend.startswith("qiskit-aer")
    assert any("CPU" in reason for reason in result.reasons)
    assert result.circuit_sha256 == parse_circuit("h(0)").sha256()


@pytest.mark.gpu
def test_gpu_build_runs_on_a_visible_gpu() -> None:
    from dunes.quantum.backend import aer_info

    inventory = discover()
    if not (aer_info().gpu_usable and inventory.gpus):
        pytest.skip(
            f"needs qiskit-aer-gpu and a visible GPU (active: {aer_info().distribution}, "
            f"{len(inventory.gpus)} GPU(s))"
        )
    spec = parse_circuit("h(0); " + "; ".join(f"cx({i},{i + 1})" for i in range(19)) + "; t(3)")
    result = simulate(spec, SimulationOptions(device="gpu"), inventory=inventory)
    assert result.aer_device == "GPU" and result.device.startswith("cuda:")
    cpu = simulate(spec, SimulationOptions(device="cpu"), inventory=inventory)
    assert result.state is not None and cpu.state is not None
    assert np.max(np.abs(result.state - cpu.state)) < 1e-10
