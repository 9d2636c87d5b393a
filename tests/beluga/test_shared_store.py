from __future__ import annotations

from pathlib import Path

import pytest

from dunes.beluga import shared_store
from dunes.config import Settings, get_settings
from dunes.errors import NodeNotFoundError
from dunes.quantum import SimulationOptions
from dunes.services.simulation import simulate_circuit


def test_one_store_per_database_per_process(settings: Settings, tmp_path: Path) -> None:
    first = shared_store(settings)
    assert shared_store(settings) is first
    other = shared_store(get_settings(data_dir=tmp_path / "elsewhere"))
    assert other is not first
    assert other.engine.url != first.engine.url


def test_recorded_runs_land_in_the_shared_store(settings: Settings) -> None:
    options = SimulationOptions(shots=100, seed=1)
    for _ in range(3):
        simulate_circuit(settings=settings, circuit="h(0); cx(0,1)", options=options)
    store = shared_store(settings)
    simulations = store.find_nodes(kind="simulation")
    circuits = store.find_nodes(kind="circuit")
    assert len(simulations) == 3
    assert len(circuits) == 1  # content addressed: the same circuit is one node
    with pytest.raises(NodeNotFoundError):
        store.get_node("f" * 64)
