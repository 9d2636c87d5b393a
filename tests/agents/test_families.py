"""The circuit-family catalog against Aer and against exact math."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dunes.errors import InvalidInputError
from dunes.quantum import SimulationOptions, simulate
from dunes.quantum import families as F

CASES = [
    ("ghz", {"num_qubits": 2}),
    ("ghz", {"num_qubits": 5}),
    ("bell", {}),
    ("bell", {"variant": "phi-"}),
    ("bell", {"variant": "psi+"}),
    ("bell", {"variant": "psi-"}),
    ("w_state", {"num_qubits": 2}),
    ("w_state", {"num_qubits": 5}),
    ("qft", {"num_qubits": 3}),
    ("qft", {"num_qubits": 4, "basis": "1011"}),
    ("iqft", {"num_qubits": 3, "basis": "110"}),
    ("grover", {"num_qubits": 2, "marked": "10"}),
    ("grover", {"num_qubits": 3, "marked": "101"}),
    ("grover", {"num_qubits": 4, "marked": "0110"}),
    ("grover", {"num_qubits": 5, "marked": "10011"}),
    ("deutsch_jozsa", {"num_qubits": 4}),
    ("deutsch_jozsa", {"num_qubits": 4, "oracle": "constant"}),
    ("deutsch_jozsa", {"num_qubits": 4, "oracle": "constant1"}),
    ("deutsch_jozsa", {"secret": "101"}),
    ("bernstein_vazirani", {"secret": "1011"}),
    ("bernstein_vazirani", {"num_qubits": 3}),
    ("teleportation", {}),
    ("teleportation", {"theta": 1.1, "phi": -0.4}),
]


@pytest.mark.parametrize(("family", "params"), CASES)
def test_aer_reaches_the_ideal_state(family: str, params: dict[str, object]) -> None:
    spec = F.build(family, params)
    result = simulate(spec, SimulationOptions())
    ideal = F.ideal_state(family, params)
    assert ideal is not None
    assert ideal.size == 2**spec.num_qubits
    assert math.isclose(float(np.linalg.norm(ideal)), 1.0, abs_tol=1e-12)
    assert F.fidelity(result.state, ideal) == pytest.approx(1.0, abs=1e-9)


def test_the_seed_ghz_chain() -> None:
    assert F.build("ghz", {"num_qubits": 4}).to_seed() == "h(0); cx(0,1); cx(1,2); cx(2,3)"


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("pick", [0, 1, -1])
def test_qft_matches_the_dft_matrix(n: int, pick: int) -> None:
    j = pick % 2**n
    dft = np.array(
        [[np.exp(2j * math.pi * r * c / 2**n) for c in range(2**n)] for r in range(2**n)]
    ) / math.sqrt(2**n)
    basis = format(j, f"0{n}b")
    state = simulate(F.build("qft", {"num_qubits": n, "basis": basis})).state
    assert np.allclose(state, dft[:, j], atol=1e-10)
    back = simulate(F.build("iqft", {"num_qubits": n, "basis": basis})).state
    assert np.allclose(back, dft.conj()[:, j], atol=1e-10)


def test_grover_finds_the_marked_string_when_sampled() -> None:
    spec = F.build("grover", {"num_qubits": 4, "marked": "1001"})
    measured = spec.model_copy(
        update={
            "num_clbits": 4,
            "operations": (
                *spec.operations,
                F.Operation(name="measure", qubits=(0, 1, 2, 3), clbits=(0, 1, 2, 3)),
            ),
        }
    )
    counts = simulate(measured, SimulationOptions(shots=400, seed=3)).counts
    assert max(counts, key=counts.__getitem__) == "1001"
    assert counts["1001"] > 0.9 * 400


def test_bernstein_vazirani_reads_out_the_secret() -> None:
    probabilities = simulate(F.build("bernstein_vazirani", {"secret": "0110"})).probabilities
    # ancilla (top qubit) in |->: the input register is exactly the secret
    assert {k[1:] for k, p in probabilities.items() if p > 1e-9} == {"0110"}


def test_random_is_reproducible_and_has_no_ideal_state() -> None:
    a = F.build("random", {"num_qubits": 4, "depth": 3, "seed": 5})
    b = F.build("random", {"num_qubits": 4, "depth": 3, "seed": 5})
    c = F.build("random", {"num_qubits": 4, "depth": 3, "seed": 6})
    assert a == b
    assert a != c
    assert F.ideal_state("random", {"num_qubits": 4}) is None


@pytest.mark.parametrize(
    ("family", "params", "message"),
    [
        ("nope", {}, "known: ghz"),
        ("grover", {"num_qubits": 12}, "2..8 qubits"),
        ("grover", {"num_qubits": 3, "marked": "1021"}, "bitstring"),
        ("grover", {"num_qubits": 3, "marked": "10101"}, "has 5 bits"),
        ("bell", {"variant": "chi+"}, "phi+"),
        ("ghz", {"num_qubits": 1}, "2 or more"),
        ("deutsch_jozsa", {"num_qubits": 3, "secret": "00"}, "at least one 1"),
        ("random", {"num_qubits": 2, "depth": 0}, "depth"),
    ],
)
def test_bad_parameters_say_what_is_accepted(family: str, params: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        F.build(family, params)


def test_fixed_width_families_ignore_a_requested_width() -> None:
    assert F.build("bell", {"num_qubits": 5}).num_qubits == 2
    assert F.build("teleportation", {"num_qubits": 7}).num_qubits == 3
