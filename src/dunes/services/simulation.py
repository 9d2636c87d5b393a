"""Parse, simulate and record a circuit: the one path every interface uses."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from dunes.config import Settings
from dunes.constants import DEVICE_FORMS
from dunes.devices import Inventory, normalize_device_id
from dunes.errors import DeviceError, InvalidInputError
from dunes.quantum import CircuitSpec, SimulationOptions, SimulationResult, parse_circuit, simulate
from dunes.quantum.parse import CircuitFormat
from dunes.services.public import Origin, public_simulation
from dunes.services.requests import SimulateRequest
from dunes.services.threads import io_bound
from dunes.validation import parse_model


def simulation_options(
    *,
    settings: Settings,
    shots: int | None = None,
    method: str = "auto",
    device: str | None = None,
    precision: str = "double",
    seed: int | None = None,
    statevector: bool | None = None,
    observables: Sequence[str] = (),
) -> SimulationOptions:
    """Options with the defaults every interface shares (``quantum.default_shots``,
    ``quantum.default_device``) and one device syntax.

    Raises:
        InvalidInputError / DeviceError: a field is out of range or the device is not a device.
    """
    fields: dict[str, Any] = {
        "shots": settings.quantum.default_shots if shots is None else shots,
        "method": method,
        "precision": precision,
        "seed": seed,
        "statevector": statevector,
        "observables": tuple(observables),
        **device_fields(settings.quantum.default_device if device is None else device),
    }
    return parse_model(SimulationOptions, fields)


def device_fields(device: str) -> dict[str, Any]:
    """``cuda:1`` -> device gpu on GPU 1; ``auto``, ``cpu``, ``gpu`` as they are.

    Raises:
        DeviceError: names the forms accepted.
    """
    text = device.strip().lower()
    if text in ("auto", "cpu", "gpu"):
        return {"device": text}
    try:
        normal = normalize_device_id(text)
    except DeviceError as exc:
        raise DeviceError(
            f"device {device!r} is not a device; accepted: {DEVICE_FORMS}", field="device"
        ) from exc
    if normal == "cpu":
        return {"device": "cpu"}
    return {"device": "gpu", "target_gpus": (int(normal.split(":")[1]),)}


#: Suffixes that mark an argument as a circuit file rather than circuit text.
CIRCUIT_FILE_SUFFIXES = (".qasm", ".qasm2", ".qasm3", ".json", ".txt", ".seed", ".circ")


@dataclass(frozen=True)
class CircuitSource:
    """Circuit text and, when it came from a file, that file's suffix (``.qasm3`` ...)."""

    text: str
    suffix: str | None = None


def read_circuit_source(source: str) -> CircuitSource:
    """``source`` itself, or the content of the file it names.

    Raises:
        InvalidInputError: ``source`` names a circuit file that cannot be read.
    """
    if len(source) >= 4096 or "\n" in source or "(" in source or ";" in source:
        return CircuitSource(source)
    candidate = Path(source)
    try:
        if candidate.suffix and candidate.is_file():
            return CircuitSource(
                candidate.read_text(encoding="utf-8-sig"), candidate.suffix.lower()
            )
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read circuit file {candidate}: {exc}") from exc
    if candidate.suffix.lower() in CIRCUIT_FILE_SUFFIXES:
        raise InvalidInputError(
            f"circuit file {candidate} not found; give a readable file or circuit text such as "
            "'h(0); cx(0,1)'",
            field="circuit",
        )
    return CircuitSource(source)


@dataclass(frozen=True)
class SimulationRun:
    """A parsed circuit, its result, and the graph nodes it was recorded as (or None)."""

    spec: CircuitSpec
    result: SimulationResult
    recorded: dict[str, str] | None = None


def simulate_circuit(
    *,
    settings: Settings,
    circuit: str | CircuitSpec | CircuitSource,
    options: SimulationOptions,
    num_qubits: int | None = None,
    fmt: CircuitFormat = "auto",
    inventory: Inventory | None = None,
    record: bool = True,
    origin: Origin = "local",
) -> SimulationRun:
    """Parse ``circuit`` (any accepted notation) and simulate it under ``settings``' limits.

    With ``record`` the run is stored in the BELUGA graph (circuit, simulation, state) and a
    state too big for JSON is kept as a ``.npy`` artifact; without it nothing is written. The
    result is the public one for ``origin`` (see ``dunes.services.public``).
    """
    if isinstance(circuit, CircuitSpec):
        spec = circuit
    else:
        source = circuit if isinstance(circuit, CircuitSource) else CircuitSource(circuit)
        spec = parse_circuit(source.text, num_qubits=num_qubits, fmt=fmt, suffix=source.suffix)
    result = simulate(
        spec,
        options,
        inventory=inventory,
        settings=settings.quantum,
        artifacts_dir=settings.artifacts_dir if record else None,
    )
    recorded = record_run(settings=settings, spec=spec, result=result) if record else None
    return SimulationRun(
        spec=spec, result=public_simulation(result, origin=origin), recorded=recorded
    )


def simulate_request(
    *,
    settings: Settings,
    request: SimulateRequest | Mapping[str, Any],
    origin: Origin,
    source: CircuitSource | None = None,
    record: bool = True,
) -> SimulationRun:
    """Run what a caller asked (a ``SimulateRequest``, or its fields), the defaults decided by
    ``simulation_options``; ``source`` stands in for the circuit read from a file.

    Raises:
        InvalidInputError: a field is out of range (named, with what is accepted).
    """
    if not isinstance(request, SimulateRequest):
        request = parse_model(SimulateRequest, dict(request))
    options = simulation_options(
        settings=settings,
        **request.model_dump(include={"shots", "method", "device", "precision", "seed"}),
        statevector=request.statevector,
        observables=request.observables,
    )
    return simulate_circuit(
        settings=settings,
        circuit=source or request.circuit,  # type: ignore[arg-type]
        options=options,
        num_qubits=request.num_qubits,
        fmt=request.format,
        record=record,
        origin=origin,
    )


def record_run(
    *, settings: Settings, spec: CircuitSpec, result: SimulationResult
) -> dict[str, str]:
    """Store a simulation in the BELUGA graph; returns the node ids (circuit, simulation, state)."""
    from dunes.beluga import shared_store

    return shared_store(settings).record_simulation(spec, result)


def statevector_npy(result: SimulationResult) -> bytes:
    """The whole state of a result as a ``.npy`` file.

    Raises:
        InvalidInputError: the result holds no state (it was sampled, or measures mid-circuit).
    """
    import io

    import numpy as np

    state = result.state
    if state is None:
        raise InvalidInputError(
            "this result holds no statevector (it was sampled with shots, or its circuit "
            "measures mid-circuit); simulate with statevector=true",
            field="statevector",
        )
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(state), allow_pickle=False)
    return buffer.getvalue()


def histogram_png(result: SimulationResult) -> bytes:
    """The histogram of a result's counts (or probabilities) as PNG bytes.

    Raises:
        InvalidInputError: nothing to plot.
    """
    import tempfile

    from dunes.quantum.plots import histogram_png as draw

    with tempfile.TemporaryDirectory(prefix="dunes-plot-") as tmp:
        return draw(result, Path(tmp) / "histogram.png").read_bytes()


class CircuitCheck(BaseModel):
    """Whether a circuit text reads, and if not, where and why (for editors and forms)."""

    model_config = ConfigDict(frozen=True)

    valid: bool
    format: str | None = None
    num_qubits: int | None = None
    operations: int | None = None
    error: str | None = None
    line: int | None = None
    column: int | None = None


@io_bound
def check_circuit(*, text: str) -> CircuitCheck:
    """Parse ``text`` in any accepted notation; the parse error with its line when it fails."""
    from dunes.errors import CircuitError, CircuitSyntaxError
    from dunes.quantum.parse import detect_format

    try:
        spec = parse_circuit(text)
    except CircuitSyntaxError as exc:
        return CircuitCheck(valid=False, error=exc.detail, line=exc.line, column=exc.column)
    except CircuitError as exc:
        return CircuitCheck(valid=False, error=str(exc))
    return CircuitCheck(
        valid=True,
        format=detect_format(text),
        num_qubits=spec.num_qubits,
        operations=len(spec.operations),
    )


_DRAWING = threading.Lock()


def circuit_drawing_png(circuit: str) -> bytes:
    """The circuit drawn with Qiskit's matplotlib drawer, as PNG bytes (one drawing at a time:
    pyplot keeps global state)."""
    import tempfile

    from dunes.quantum.plots import circuit_png

    spec = parse_circuit(circuit)
    with _DRAWING, tempfile.TemporaryDirectory(prefix="dunes-draw-") as tmp:
        return circuit_png(spec, Path(tmp) / "circuit.png").read_bytes()
