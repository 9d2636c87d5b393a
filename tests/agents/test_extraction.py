"""The extraction rules on their own: numbers in digits and words, bitstrings, angles."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunes.agents.extraction import extract, is_qubit_word

QUBITS = [
    ("Design a 4-qubit GHZ state", 4),
    ("four-qubit W state", 4),
    ("ten qubits", 10),
    ("twenty-four qubit register", 24),
    ("twenty four qubits", 24),
    ("on 7 qbits", 7),
    ("5 qubtis", 5),
    ("three quibits", 3),
    ("qubits: 6", 6),
    ("number of qubits = 9", 9),
    ("n=5 random circuit", 5),
    ("a pair of qubits", 2),
    ("12 entangled qubits", 12),
    ("single qubit rotation", 1),
    ("fiev qubits", 5),
]


@pytest.mark.parametrize(("text", "expected"), QUBITS)
def test_qubit_counts(text: str, expected: int) -> None:
    assert extract(text).num_qubits == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1000 shots", 1000),
        ("shots=2048", 2048),
        ("sample 500 times", 500),
        ("2k shots", 2000),
        ("run 300 sampels", 300),
        ("with 10000 measurements", 10000),
    ],
)
def test_shots(text: str, expected: int) -> None:
    assert extract(f"GHZ on 3 qubits, {text}").shots == expected
    assert extract(f"GHZ on 3 qubits, {text}").num_qubits == 3


def test_bitstrings_are_classified_by_the_words_before_them() -> None:
    found = extract("Grover search for the marked item 0110, secret 101, start in |11>")
    assert found.marked == "0110"
    assert found.secret == "101"
    assert found.basis == "11"
    assert found.bitstrings == ["0110", "101", "11"]


def test_numbers_counted_elsewhere_are_not_bitstrings() -> None:
    found = extract("10 qubits, 100 shots, depth 10, seed 11")
    assert (found.num_qubits, found.shots, found.depth, found.seed) == (10, 100, 10, 11)
    assert found.bitstrings == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("theta = pi/4", [math.pi / 4]),
        ("rotate by 3pi/4 then -pi/2", [3 * math.pi / 4, -math.pi / 2]),
        ("an angle of 0.3", [0.3]),
        ("45 degrees and 90°", [math.pi / 4, math.pi / 2]),
        ("phi: 1.25 rad", [1.25]),
        ("θ=π/3", [math.pi / 3]),
    ],
)
def test_angles_in_radians_in_text_order(text: str, expected: list[float]) -> None:
    assert extract(text).angles == pytest.approx(expected)


def test_missing_fields_are_listed() -> None:
    found = extract("prepare a GHZ state")
    assert found.missing == ["num_qubits", "shots", "marked", "angles", "secret"]
    assert extract("what is the weather").num_qubits is None


def test_oracle_and_bell_variant() -> None:
    assert extract("Deutsch-Jozsa with a constant oracle").oracle == "constant"
    assert extract("balanced function").oracle == "balanced"
    assert extract("Bell state psi minus").variant == "psi-"
    assert extract("the Φ+ Bell state").variant == "phi+"


def test_qubit_word_typos_but_not_other_words() -> None:
    for word in ("qubit", "qubits", "qbits", "qubtis", "quibits", "cubits"):
        assert is_qubit_word(word), word
    for word in ("quit", "quote", "bits", "cube", "rabbit"):
        assert not is_qubit_word(word), word


@given(st.integers(min_value=1, max_value=60), st.integers(min_value=1, max_value=10**6))
def test_any_digit_counts_round_trip(qubits: int, shots: int) -> None:
    found = extract(f"prepare a {qubits}-qubit state and take {shots} shots")
    assert (found.num_qubits, found.shots) == (qubits, shots)


@given(st.text(max_size=200))
def test_never_crashes(text: str) -> None:
    extract(text)
