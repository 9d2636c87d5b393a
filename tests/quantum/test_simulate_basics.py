from __future__ import annotations

import math

import numpy as np

from dunes.quantum import SimulationOptions, parse_circuit, simulate


def test_seed_ghz_has_two_equal_amplitudes() -> None:
    result = simulate(parse_circuit("h(0); cx(0,1); cx(1,2); cx(2,3)"))
    state = np.asarray(result.statevector)
    assert result.num_qubits == 4
    assert math.isclose(state[0][0], 1 / math.sqrt(2), abs_tol=1e-12)
    assert math.isclose(state[15][0], 1 / math.sqrt(2), abs_tol=1e-12)
    others = np.delete(state, [0, 15], axis=0)
    assert np.allclose(others, 0)


def test_seeded_shots_are_reproducible() -> None:
    spec = parse_circuit("h(0); h(1); h(2); measure")
    options = SimulationOptions(shots=500, seed=11)
    assert simulate(spec, options).counts == simulate(spec, options).counts
