"""dunes against exact answers on the corpus: QASM files as found in the wild, Qiskit's library.

Exact answers come from ``tests/quantum/corpus/reference.py`` (``qiskit.quantum_info`` and the
deferred-measurement principle, never Aer): probabilities must agree to 1e-9, statevectors too
(global phase included), and sampled counts within a total-variation bound that fails with
probability below one in a million.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from dunes.errors import CircuitError
from dunes.quantum import SimulationOptions, parse_circuit, simulate
from dunes.quantum.parse import from_qiskit
from dunes.services.simulation import read_circuit_source
from tests.quantum.corpus import reference
from tests.quantum.corpus.files import invalid_files, load_with_qiskit, qasm_files
from tests.quantum.corpus.library import library_circuits

TOLERANCE = 1e-9
SHOTS = 4000


def assert_close(got: dict[str, float] | None, want: dict[str, float], what: str) -> None:
    assert got is not None, what
    keys = {k for k, v in got.items() if v > 1e-12} | set(want)
    worst = max((abs(got.get(k, 0.0) - want.get(k, 0.0)) for k in keys), default=0.0)
    assert worst <= TOLERANCE, f"{what}: off by {worst:.3g}"


def check_exact(name: str, spec_source: object, qc: QuantumCircuit) -> None:
    """The result of ``spec_source`` (a CircuitSpec) against the reference for ``qc``."""
    spec = spec_source
    result = simulate(spec, SimulationOptions())  # type: ignore[arg-type]
    if reference.is_dynamic(qc):
        assert result.probabilities_of == "clbits", name
        assert result.state_of in (None, "only_branch"), name
        assert_close(result.probabilities, reference.clbit_distribution(qc), name)
        return
    assert result.probabilities_of == "qubits", name
    assert_close(result.probabilities, reference.state_probabilities(qc), name)
    if result.statevector is not None:
        body, _ = reference.final_measurements(qc)
        expected = Statevector(body.remove_final_measurements(inplace=False)).data
        assert result.state is not None
        assert np.max(np.abs(result.state - expected)) < TOLERANCE, f"{name}: statevector"
        assert result.state_of == "before_final_measurements"


def check_sampled(name: str, spec: object, qc: QuantumCircuit, seed: int) -> None:
    result = simulate(spec, SimulationOptions(shots=SHOTS, seed=seed))  # type: ignore[arg-type]
    assert result.counts is not None and sum(result.counts.values()) == SHOTS, name
    exact = reference.clbit_distribution(qc)
    total = sum(result.counts.values())
    frequencies = {k: v / total for k, v in result.counts.items()}
    tv = reference.total_variation(frequencies, exact)
    bound = reference.sampled_tv_bound(len(exact) + 1, SHOTS)
    assert tv <= bound, f"{name}: counts {tv:.3f} from the exact distribution (bound {bound:.3f})"


QASM = qasm_files()
LIBRARY = library_circuits()


def test_the_corpus_is_big_enough() -> None:
    assert len(QASM) + len(LIBRARY) >= 150
    assert sum(reference.is_dynamic(qc) for _, qc in LIBRARY) >= 30


@pytest.mark.parametrize("path", QASM, ids=[p.name for p in QASM])
def test_qasm_file_as_a_user_brings_it(path: Path) -> None:
    source = read_circuit_source(str(path))
    spec = parse_circuit(source.text, suffix=source.suffix)
    check_exact(path.name, spec, load_with_qiskit(path))


@pytest.mark.parametrize("path", QASM[::4], ids=[p.name for p in QASM[::4]])
def test_qasm_file_sampled(path: Path) -> None:
    source = read_circuit_source(str(path))
    qc = load_with_qiskit(path)
    if qc.num_clbits == 0:
        pytest.skip("measures nothing")
    check_sampled(path.name, parse_circuit(source.text, suffix=source.suffix), qc, seed=11)


@pytest.mark.parametrize(("name", "qc"), LIBRARY, ids=[name for name, _ in LIBRARY])
def test_library_circuit(name: str, qc: QuantumCircuit) -> None:
    check_exact(name, from_qiskit(qc), qc)


SAMPLED_LIBRARY = [(n, qc) for n, qc in LIBRARY if qc.num_clbits][::5]


@pytest.mark.parametrize(("name", "qc"), SAMPLED_LIBRARY, ids=[n for n, _ in SAMPLED_LIBRARY])
def test_library_circuit_sampled(name: str, qc: QuantumCircuit) -> None:
    check_sampled(name, from_qiskit(qc), qc, seed=5)


INVALID = invalid_files()


@pytest.mark.parametrize(("path", "fragment", "line"), INVALID, ids=[p.name for p, *_ in INVALID])
def test_broken_file_says_what_and_where(path: Path, fragment: str, line: int | None) -> None:
    source = read_circuit_source(str(path))
    with pytest.raises(CircuitError) as info:
        parse_circuit(source.text, suffix=source.suffix)
    message = str(info.value)
    assert "Traceback" not in message and "\n" not in message.strip()
    assert fragment.lower() in message.lower(), message
    if line is not None:
        assert getattr(info.value, "line", None) == line or f"line {line}" in message, message


# --- generated circuits: measurements and resets anywhere ----------------------------------


@st.composite
def measured_circuits(draw: st.DrawFn) -> QuantumCircuit:
    """Random gates with measurements, resets and conditions at random places."""
    n = draw(st.integers(1, 4))
    clbits = draw(st.integers(1, 4))
    qc = QuantumCircuit(n, clbits)
    for _ in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["h", "rx", "cx", "t", "measure", "reset", "if"]))
        q = draw(st.integers(0, n - 1))
        if kind == "h":
            qc.h(q)
        elif kind == "t":
            qc.t(q)
        elif kind == "rx":
            qc.rx(draw(st.floats(-3.2, 3.2, allow_nan=False)), q)
        elif kind == "cx" and n > 1:
            other = draw(st.integers(0, n - 1).filter(lambda x, q=q: x != q))
            qc.cx(q, other)
        elif kind == "measure":
            qc.measure(q, draw(st.integers(0, clbits - 1)))
        elif kind == "reset":
            qc.reset(q)
        elif kind == "if":
            bit = draw(st.integers(0, clbits - 1))
            with qc.if_test((qc.clbits[bit], draw(st.integers(0, 1)))) as orelse:
                qc.x(q)
            if draw(st.booleans()):
                with orelse:
                    qc.h(q)
    if draw(st.booleans()):
        qc.measure(range(n), range(min(n, clbits)) if n <= clbits else [0] * n)
    return qc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(measured_circuits())
def test_generated_measurement_and_reset_placement(qc: QuantumCircuit) -> None:
    if not any(inst.operation.name not in ("barrier",) for inst in qc.data):
        return
    spec = from_qiskit(qc)
    assert spec.is_dynamic == reference.is_dynamic(qc)
    check_exact("generated", spec, qc)
    again = parse_circuit(spec.to_seed(), num_qubits=spec.num_qubits)
    assert again.operations == spec.operations
