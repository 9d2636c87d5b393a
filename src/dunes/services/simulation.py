"""Parse, simulate and record a circuit: the one path every interface uses."""

from __future__ import annotations

from pathlib import Path

from dunes.config import Settings
from dunes.devices import Inventory
from dunes.errors import InvalidInputError
from dunes.quantum import CircuitSpec, SimulationOptions, SimulationResult, parse_circuit, simulate
from dunes.quantum.parse import CircuitFormat

#: Suffixes that mark an argument as a circuit file rather than circuit text.
CIRCUIT_FILE_SUFFIXES = (".qasm", ".qasm2", ".qasm3", ".json", ".txt", ".seed", ".circ")


def load_circuit_text(source: str) -> str:
    """Return ``source`` itself, or the content of the file it names.

    Raises:
        InvalidInputError: ``source`` names a circuit file that cannot be read.
    """
    if len(source) >= 4096 or "\n" in source or "(" in source or ";" in source:
        return source
    candidate = Path(source)
    try:
        if candidate.suffix and candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read circuit file {candidate}: {exc}") from exc
    if candidate.suffix.lower() in CIRCUIT_FILE_SUFFIXES:
        raise InvalidInputError(
            f"circuit file {candidate} not found; give a readable file or circuit text such as "
            "'h(0); cx(0,1)'",
            field="circuit",
        )
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
        record_run(settings=settings, spec=spec, result=result)
    return spec, result


def record_run(
    *, settings: Settings, spec: CircuitSpec, result: SimulationResult
) -> dict[str, str]:
    """Store a simulation in the BELUGA graph; returns the node ids (circuit, simulation, state)."""
    from dunes.beluga import shared_store

    return shared_store(settings).record_simulation(spec, result)
