"""The top-amplitude search used for big states agrees with a plain sort, ties included."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dunes.quantum.result import probabilities_of, top_amplitudes, top_indices


def reference(values: np.ndarray, k: int) -> list[int]:
    return sorted(range(values.size), key=lambda i: (-values[i], i))[:k]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from([64, 256, 1024, 4096]),
    st.integers(1, 40),
    st.sampled_from(["dense", "sparse", "ties", "zeros"]),
)
def test_top_indices_matches_sorting(seed: int, size: int, k: int, shape: str) -> None:
    rng = np.random.default_rng(seed)
    if shape == "dense":
        values = rng.random(size)
    elif shape == "sparse":
        values = np.zeros(size)
        values[rng.choice(size, size=min(3, size), replace=False)] = rng.random(min(3, size))
    elif shape == "ties":
        values = rng.integers(0, 4, size).astype(float)
    else:
        values = np.zeros(size)
    assert top_indices(values, k, block=16).tolist() == reference(values, k)
    assert top_indices(values, k).tolist() == reference(values, k)


def test_top_amplitudes_of_a_state() -> None:
    rng = np.random.default_rng(1)
    state = rng.normal(size=2**14) + 1j * rng.normal(size=2**14)
    state /= np.linalg.norm(state)
    probabilities = probabilities_of(state)
    assert np.allclose(probabilities, np.abs(state) ** 2, rtol=1e-14)
    top = top_amplitudes(state, 14, 5)
    assert [a.index for a in top] == reference(np.abs(state) ** 2, 5)
    assert top[0].bitstring == format(top[0].index, "014b")
    assert top[0].amplitude == pytest.approx((state[top[0].index].real, state[top[0].index].imag))
    single = probabilities_of(state.astype(np.complex64))
    assert single.dtype == np.float32 and np.allclose(single, probabilities, atol=1e-6)
