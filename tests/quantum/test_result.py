"""Big states: the top-amplitude search agrees with a plain sort (ties included), and the\nartifact writer round-trips on every path."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dunes.quantum.result import (
    DIRECT_ALIGN,
    DIRECT_MIN_BYTES,
    load_array,
    probabilities_of,
    top_amplitudes,
    top_indices,
    write_array,
)


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


@pytest.mark.parametrize("qubits", [3, 17, 21])
@pytest.mark.parametrize("where", ["disk", "tmpfs"])
def test_write_array_round_trips_on_every_path(tmp_path: Path, qubits: int, where: str) -> None:
    """Small states through the page cache, big ones through direct I/O (its aligned header),
    and tmpfs, where direct I/O may be refused: numpy reads each back, the sha256 is the data's."""
    directory = tmp_path if where == "disk" else Path("/dev/shm") / tmp_path.name
    if where == "tmpfs" and not Path("/dev/shm").is_dir():
        pytest.skip("no /dev/shm here")
    rng = np.random.default_rng(qubits)
    state = rng.standard_normal(2**qubits) + 1j * rng.standard_normal(2**qubits)
    try:
        artifact = write_array(state, directory)
        assert artifact.sha256 == hashlib.sha256(state.tobytes()).hexdigest()
        assert np.array_equal(load_array(artifact), state)
        assert np.array_equal(np.load(artifact.path, mmap_mode="r"), state)
        header = os.path.getsize(artifact.path) - state.nbytes
        assert header == (DIRECT_ALIGN if state.nbytes >= DIRECT_MIN_BYTES else 128) or (
            where == "tmpfs" and header == 128
        )
        assert not list(directory.glob(".*.tmp.npy"))
    finally:
        if where == "tmpfs":
            shutil.rmtree(directory, ignore_errors=True)
