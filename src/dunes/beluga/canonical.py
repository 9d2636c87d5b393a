"""Canonical JSON and content-addressed ids: same content, same bytes, same id."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from dunes.errors import InvalidInputError

if TYPE_CHECKING:
    from dunes.quantum import CircuitSpec


_PLAIN = frozenset({str, int, bool, type(None)})


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (models, numpy values, tuples and complex numbers converted).

    Lists of plain numbers (embeddings, probabilities) are checked in one pass instead of one
    call per element: they are most of what the graph stores.

    Raises:
        InvalidInputError: something that has no JSON form (or a NaN/infinite float).
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is float:
        return _finite(value)
    if kind is dict:
        return {k if type(k) is str else str(k): jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        if all(type(v) in _PLAIN for v in value):
            return list(value)
        if all(type(v) is float for v in value):
            if all(map(math.isfinite, value)):
                return list(value)
            return [_finite(v) for v in value]
        return [jsonable(v) for v in value]
    return _jsonable_other(value)


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise InvalidInputError(f"cannot store the non-finite number {value!r}: use null")
    return value


def _jsonable_other(value: Any) -> Any:
    """The slower cases: subclasses of the plain types, models, numpy, complex, dates, paths."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return _finite(float(value))
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump(mode="json"))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, complex):
        return [_finite(value.real), _finite(value.imag)]
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise InvalidInputError(
        f"cannot store a {type(value).__name__} in the graph: accepted are JSON values "
        "(dict, list, str, int, float, bool, None), numpy arrays and pydantic models"
    )


def canonical_json(value: Any) -> str:
    """Same content, same bytes: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def content_id(kind: str, data: Any) -> str:
    """The id of a content-addressed node: sha256 of the canonical JSON of kind and data."""
    return hashlib.sha256(canonical_json({"kind": kind, "data": data}).encode()).hexdigest()


def circuit_data(spec: CircuitSpec) -> dict[str, Any]:
    """What a circuit node holds: seed notation, shape, and the full spec to rebuild it."""
    return {
        "circuit": spec.to_seed(),
        "num_qubits": spec.num_qubits,
        "num_clbits": spec.num_clbits,
        "gate_count": spec.gate_count,
        "depth": spec.depth,
        "name": spec.name,
        "spec": spec.model_dump(mode="json"),
    }
