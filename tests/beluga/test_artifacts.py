"""Artifacts: reclaimed by 'dunes graph gc' (orphans, age, total size), and said so when read."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from dunes.beluga import GraphStore
from dunes.errors import ArtifactError
from dunes.quantum import SimulationOptions, parse_circuit, simulate
from dunes.quantum.result import write_array


def big_state(store: GraphStore, angle: float) -> dict[str, str]:
    """A recorded 17-qubit run: its state is an artifact (above 16 qubits)."""
    assert store.artifacts_dir is not None
    text = f"rx({angle}, 0); t(0); " + "; ".join(f"cx({q},{q + 1})" for q in range(16))
    spec = parse_circuit(text)
    result = simulate(spec, SimulationOptions(statevector=True), artifacts_dir=store.artifacts_dir)
    assert result.artifact is not None
    return store.record_simulation(spec, result)


def test_gc_removes_orphans_keeps_referenced_and_says_why(store: GraphStore) -> None:
    assert store.artifacts_dir is not None
    recorded = big_state(store, 0.3)
    orphan = write_array(np.arange(8, dtype=np.complex128), store.artifacts_dir)
    half = store.artifacts_dir / ".123-4.tmp.npy"
    half.write_bytes(b"x" * 10)
    old = time.time() - 7200
    os.utime(half, (old, old))
    dry = store.collect_garbage(dry_run=True)
    assert {item["why"] for item in dry.removed} == {
        "no graph node refers to it",
        "half-written, abandoned",
    }
    assert Path(orphan.path).exists() and half.exists()
    report = store.collect_garbage()
    assert not Path(orphan.path).exists() and not half.exists()
    assert report.kept_files == 1 and report.kept_bytes > 2**21
    assert store.load_state(recorded["quantum_state"]).shape == (2**17,)


def test_retention_by_age_and_by_size_leaves_a_tombstone(store: GraphStore) -> None:
    first = big_state(store, 0.1)
    time.sleep(0.05)
    second = big_state(store, 0.2)
    one_file = 16 * 2**17 + 128
    by_size = store.collect_garbage(max_bytes=one_file + 1000)
    assert [item["why"] for item in by_size.removed] == [
        f"beyond the {one_file + 1000}-byte budget"
    ]
    with pytest.raises(ArtifactError, match=r"artifact reclaimed.*dunes graph gc"):
        store.load_state(first["quantum_state"])
    assert store.load_state(second["quantum_state"]) is not None
    by_age = store.collect_garbage(older_than=timedelta(seconds=0))
    assert len(by_age.removed) == 1 and by_age.kept_files == 0
    tombstones = list(store.artifacts_dir.glob("*.reclaimed"))  # type: ignore[union-attr]
    assert len(tombstones) == 2
    assert "reclaimed_at" in json.loads(tombstones[0].read_text())
