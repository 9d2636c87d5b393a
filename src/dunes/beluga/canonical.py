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


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (models, numpy values, tuples and complex numbers converted).

    Raises:
        InvalidInputError: something that has no JSON form (or a NaN/infinite float).
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"cannot store the non-finite number {value!r}: use null")
        return value
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump(mode="json"))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, complex):
        return [jsonable(value.real), jsonable(value.imag)]
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
