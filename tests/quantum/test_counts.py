from __future__ import annotations

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit_aer import AerSimulator

from dunes.quantum import SimulationOptions, parse_circuit, simulate
from dunes.quantum.simulator import counts_of


def _run(qc: QuantumCircuit):  # type: ignore[no-untyped-def]
    return AerSimulator().run(qc, shots=2000, seed_simulator=3).result()


@pytest.mark.parametrize("width", [1, 3, 7])
def test_fast_counts_match_qiskits_formatting(width: int) -> None:
    qc = QuantumCircuit(width, width + 2)  # unmeasured clbits stay 0 and keep their place
    for q in range(width):
        qc.h(q)
        qc.measure(q, (q + 1) % (width + 2))
    result = _run(qc)
    assert counts_of(result, 0, qc.num_clbits) == dict(sorted(result.get_counts(0).items()))


def test_several_registers_give_one_bitstring_over_every_clbit() -> None:
    q, a, b = QuantumRegister(2), ClassicalRegister(1, "a"), ClassicalRegister(1, "b")
    qc = QuantumCircuit(q, a, b)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure(0, a[0])
    qc.measure(1, b[0])
    result = _run(qc)
    counts = counts_of(result, 0, qc.num_clbits)
    assert set(counts) <= {"00", "11"}
    assert sum(counts.values()) == 2000


def test_simulated_counts_are_sorted_bitstrings() -> None:
    result = simulate(
        parse_circuit("h(0); h(1); h(2); measure"), SimulationOptions(shots=4000, seed=9)
    )
    assert result.counts is not None
    assert list(result.counts) == sorted(result.counts)
    assert set(result.counts) == {format(i, "03b") for i in range(8)}
    assert sum(result.counts.values()) == 4000
