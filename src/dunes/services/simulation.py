"""Parse, simulate and record a circuit: the one path every interface uses."""

from __future__ import annotations

from pathlib import Path

from dunes.config import Settings
from dunes.devices import Inventory
from dunes.quantum import CircuitSpec, SimulationOptions, SimulationResult, parse_circuit, simulate
from dunes.quantum.parse import CircuitFormat


def load_circuit_text(source: str) -> str:
    """Return ``source`` itself, or the content of the file it names."""
    candidate = Path(source)
    if len(source) < 4096 and "\n" not in source and candidate.suffix and candidate.is_file():
        return candidate.read_text(encoding="utf-8")
    return source


def simulate_circuit(
    *,
    settings: Settings,
    circuit: str | CircuitSpec,
    options: SimulationOptions,
    num_qubits: int | None = None,
    fmt: CircuitFormat = "auto",
    inventory: Inventory | None = None,
    record: bool = True,
) -> tuple[CircuitSpec, SimulationResult]:
    """Parse ``circuit`` (any accepted notation) and simulate it under ``settings``' limits.

    With ``record`` the run is stored in the BELUGA graph (circuit, simulation, state).
    """
    spec = (
        circuit
        if isinstance(circuit, CircuitSpec)
        else parse_circuit(circuit, num_qubits=num_qubits, fmt=fmt)
    )
    result = simulate(
        spec,
        options,
        inventory=inventory,
        settings=settings.quantum,
        artifacts_dir=settings.artifacts_dir,
    )
    if record:
        from dunes.beluga import open_store

        with open_store(settings) as store:
            store.record_simulation(spec, result)
    return spec, result
