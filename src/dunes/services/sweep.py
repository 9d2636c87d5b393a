"""Parameter sweeps: bindings from a grid or a file, one batched simulation, one graph activity."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from dunes.config import Settings
from dunes.errors import CircuitError, InvalidInputError
from dunes.quantum.parameters import check_name, parse_expr
from dunes.quantum.sweep import DEFAULT_MEMORY_BYTES, ParametricCircuit, parse_parametric, sweep

#: Most bindings one sweep may run (more belongs in several sweeps).
MAX_BINDINGS = 1_000_000
#: Most bindings one network request (REST, MCP) may carry; more belongs in several requests.
MAX_REQUEST_BINDINGS = 100_000
Progress = Callable[[int, int], None]


class SweepResult(BaseModel):
    """Per binding, in binding order: the values, expectation values and (when asked)
    probabilities or counts; what ran and how fast."""

    model_config = ConfigDict(frozen=True)

    circuit: str = Field(description="The circuit as given.")
    num_qubits: int
    parameters: dict[str, list[float]]
    expectation_values: dict[str, list[float]] = Field(default_factory=dict)
    probabilities: list[dict[str, float]] | None = None
    counts: list[dict[str, int]] | None = None
    shots: int = 0
    seed: int | None = None
    bindings: int
    engine: str
    elapsed_s: float
    circuits_per_s: float
    recorded: dict[str, str] | None = Field(None, description="Graph nodes of the sweep.")


def grid_bindings(specs: Sequence[str]) -> dict[str, list[float]]:
    """Bindings from ``name=START:STOP:COUNT`` (both ends included; pi, tau and arithmetic
    allowed) or ``name=v1,v2,...``; several names make a grid (the first varies slowest).

    Raises:
        InvalidInputError: names the spec that does not read, and the accepted forms.
    """
    axes: dict[str, list[float]] = {}
    for spec in specs:
        name, sep, rest = spec.partition("=")
        if not sep:
            raise InvalidInputError(
                f"--param {spec!r}: write name=START:STOP:COUNT (theta=0:2*pi:101) or "
                "name=v1,v2,...",
                field="param",
            )
        name = check_name(name.strip())
        if name in axes:
            raise InvalidInputError(f"--param {name} is given twice", field="param")
        axes[name] = _values(name, rest)
    if not axes:
        return {}
    combos = list(itertools.product(*axes.values()))
    if len(combos) > MAX_BINDINGS:
        raise InvalidInputError(
            f"the grid has {len(combos):,} bindings; at most {MAX_BINDINGS:,} per sweep",
            field="param",
        )
    names = list(axes)
    return {name: [c[i] for c in combos] for i, name in enumerate(names)}


def _values(name: str, text: str) -> list[float]:
    def number(part: str) -> float:
        expr = parse_expr(part)
        if not expr.constant:
            raise InvalidInputError(f"--param {name}: {part!r} is not a number", field="param")
        return float(expr.evaluate({}))

    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise InvalidInputError(
                    f"--param {name}={text}: a range is START:STOP:COUNT", field="param"
                )
            start, stop = number(parts[0]), number(parts[1])
            count = int(parts[2])
            if not 1 <= count <= MAX_BINDINGS:
                raise InvalidInputError(f"--param {name}: COUNT must be 1..{MAX_BINDINGS}")
            return [float(v) for v in np.linspace(start, stop, count)]
        return [number(part) for part in text.split(",") if part.strip()]
    except (ValueError, ArithmeticError, CircuitError) as exc:  # a count, 1/0, a bad expression
        raise InvalidInputError(f"--param {name}={text}: {exc}", field="param") from exc


def request_bindings(
    *, grid: Sequence[str] | None, bindings: Mapping[str, list[float]] | None, limit: int
) -> Mapping[str, list[float]]:
    """The bindings a network request gives: exactly one of a grid or explicit values, at most
    ``limit`` of them.

    Raises:
        InvalidInputError: both or neither given, or too many bindings.
    """
    if (bindings is None) == (grid is None):
        raise InvalidInputError("give exactly one of bindings or grid", field="bindings")
    values = bindings if bindings is not None else grid_bindings(grid or [])
    count = binding_count(values)
    if count > limit:
        raise InvalidInputError(
            f"{count:,} bindings; at most {limit:,} per request", field="bindings"
        )
    return values


def local_bindings(
    *, grid: Sequence[str], file: Path | None, names: str | None = None
) -> dict[str, list[float]]:
    """The bindings of a local sweep: a grid (``name=START:STOP:COUNT`` or ``name=v1,v2``) or a
    bindings file (``names``: the comma-separated columns of a ``.npy``), not both; neither is
    the one binding of a circuit without parameters.

    Raises:
        InvalidInputError: both given, or either is malformed.
    """
    values = grid_bindings(grid)
    if file is None:
        return values
    if values:
        raise InvalidInputError("give --param or --bindings, not both", field="bindings")
    columns = [n.strip() for n in (names or "").split(",") if n.strip()]
    return read_bindings(file, names=columns)


def binding_count(values: Mapping[str, Sequence[float]]) -> int:
    """How many bindings ``values`` holds (one when it names no parameter)."""
    return len(next(iter(values.values()))) if values else 1


def read_bindings(path: Path, *, names: Sequence[str] = ()) -> dict[str, list[float]]:
    """Bindings from ``.json`` (name -> list), ``.csv`` (a header of names) or ``.npy`` (rows
    of bindings, columns named by ``names``).

    Raises:
        InvalidInputError: the file cannot be read, or its shape does not fit.
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise InvalidInputError(f"{path}: expected an object name -> list of values")
            return {check_name(k): [float(x) for x in v] for k, v in data.items()}
        if suffix == ".csv":
            rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
            if not rows:
                raise InvalidInputError(f"{path}: no rows under the header")
            return {check_name(k.strip()): [float(r[k]) for r in rows] for k in rows[0]}
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False)
            array = array.reshape(-1, 1) if array.ndim == 1 else array
            if array.ndim != 2 or array.shape[1] != len(names):
                raise InvalidInputError(
                    f"{path}: a {array.shape} array needs --names with {array.shape[-1]} name(s) "
                    "(one per column)",
                    field="names",
                )
            return {check_name(n): array[:, i].astype(float).tolist() for i, n in enumerate(names)}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(
            f"cannot read bindings from {path}: {exc}", field="bindings"
        ) from exc
    raise InvalidInputError(
        f"bindings file {path}: use .json (name -> list), .csv (a header) or .npy (--names)",
        field="bindings",
    )


def run_sweep(
    *,
    settings: Settings,
    circuit: str | list[Any] | dict[str, Any] | ParametricCircuit,
    bindings: Mapping[str, Sequence[float]],
    observables: Sequence[str] = (),
    probabilities: bool = False,
    shots: int = 0,
    seed: int | None = None,
    record: bool = True,
    progress: Progress | None = None,
) -> SweepResult:
    """Simulate the circuit for every binding at once; record the sweep in the graph.

    Raises:
        CircuitSyntaxError / CircuitValidationError / InvalidInputError: names what is wrong.
    """
    parametric = circuit if isinstance(circuit, ParametricCircuit) else parse_parametric(circuit)
    size = binding_count(bindings)
    if size > MAX_BINDINGS:
        raise InvalidInputError(f"{size:,} bindings; at most {MAX_BINDINGS:,}", field="bindings")
    if shots > settings.quantum.max_shots:
        raise InvalidInputError(
            f"shots={shots} is above quantum.max_shots={settings.quantum.max_shots}",
            field="shots",
        )
    out = sweep(
        parametric,
        bindings,
        observables=observables,
        probabilities=probabilities,
        shots=shots,
        seed=seed,
        memory_bytes=DEFAULT_MEMORY_BYTES,
        progress=progress,
    )
    if isinstance(circuit, ParametricCircuit):
        text = "(parametric circuit)"
    else:
        text = circuit if isinstance(circuit, str) else json.dumps(circuit)
    result = SweepResult(
        circuit=text,
        num_qubits=out.num_qubits,
        parameters=out.parameters,
        expectation_values=out.expectation_values,
        probabilities=out.probabilities,
        counts=out.counts,
        shots=shots,
        seed=seed,
        bindings=out.bindings,
        engine=out.engine,
        elapsed_s=round(out.elapsed_s, 6),
        circuits_per_s=round(out.bindings / max(out.elapsed_s, 1e-9), 1),
    )
    if not record:
        return result
    return result.model_copy(update={"recorded": record_sweep(settings, result)})


def record_sweep(settings: Settings, result: SweepResult) -> dict[str, str]:
    """One ``sweep`` activity that used the circuit and the bindings (an entity)."""
    from dunes.beluga import shared_store

    store = shared_store(settings)
    batch = store.batch()
    circuit = batch.add_entity("circuit", {"circuit": result.circuit, "parametric": True})
    bindings = batch.add_entity(
        "bindings", {"parameters": result.parameters, "count": result.bindings}
    )
    activity = batch.add_activity(
        "sweep",
        {
            "bindings": result.bindings,
            "observables": list(result.expectation_values),
            "shots": result.shots,
            "engine": result.engine,
            "elapsed_s": result.elapsed_s,
        },
    )
    batch.relate(activity, "used", circuit)
    batch.relate(activity, "used", bindings)
    store.write(batch, what="recording a sweep")
    return {"sweep": activity, "circuit": circuit, "bindings": bindings}
