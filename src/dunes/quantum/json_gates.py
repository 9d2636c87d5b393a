"""JSON gate lists: ``[{"gate": "h", "qubits": [0]}, ...]`` or ``{"num_qubits": n, "gates": [...]}``.

Classical control is an ``if_else`` item, or a ``condition`` on any gate::

    {"gate": "if_else", "condition": {"clbits": [0], "value": 1},
     "then": [{"gate": "x", "qubits": [1]}], "else": [{"gate": "z", "qubits": [1]}]}
    {"gate": "x", "qubits": [1], "condition": "c[0]==1"}
"""

from __future__ import annotations

import re
from typing import Any

from dunes.errors import CircuitValidationError
from dunes.quantum.circuit import CircuitSpec
from dunes.quantum.gates import IF_ELSE, canonical_name
from dunes.quantum.seed import CONDITION_FORMS, _read_condition
from dunes.quantum.statements import (
    Arg,
    ConditionSyntax,
    JsonPlace,
    Statement,
    build_spec,
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_EXAMPLE = '{"num_qubits": 2, "gates": [{"gate": "h", "qubits": [0]}]}'


def parse_json_value(
    value: Any, *, num_qubits: int | None = None, name: str | None = None
) -> CircuitSpec:
    """A circuit from a decoded JSON value (list of gates or object with ``gates``).

    Raises:
        CircuitValidationError: naming the gate (``gate 3``, ``gates[3].then[0]``) and the field.
    """
    num_clbits = None
    if isinstance(value, dict):
        if num_qubits is None and value.get("num_qubits") is not None:
            num_qubits = _json_int(value["num_qubits"], "num_qubits")
        if value.get("num_clbits") is not None:
            num_clbits = _json_int(value["num_clbits"], "num_clbits")
        gates = value.get("gates", value.get("operations"))
        if gates is None:
            raise CircuitValidationError(
                f"JSON circuit object needs a 'gates' list, e.g. {_EXAMPLE}", field="circuit"
            )
        name = name or (value.get("name") if isinstance(value.get("name"), str) else None)
        value = gates
    if not isinstance(value, list):
        raise CircuitValidationError(
            "JSON circuit must be a list of gates or an object with 'gates'", field="circuit"
        )
    statements = _statements(value, path="gates", label="gate")
    return build_spec(statements, num_qubits=num_qubits, num_clbits=num_clbits, name=name)


def _statements(items: list[Any], *, path: str, label: str) -> list[Statement]:
    out: list[Statement] = []
    for index, item in enumerate(items):
        out += _statement(item, JsonPlace(f"{label} {index}", f"{path}[{index}]"))
    return out


def _statement(item: Any, place: JsonPlace) -> list[Statement]:
    if not isinstance(item, dict):
        raise place.syntax(
            f'expected an object like {{"gate": "cx", "qubits": [0, 1]}}, got {type(item).__name__}'
        )
    gate = item.get("gate", item.get("name"))
    if not isinstance(gate, str):
        raise place.syntax("missing 'gate' name")
    if not _NAME.fullmatch(gate):
        raise place.syntax(f"{gate!r} is not a gate name (letters, digits, '_')")
    condition = item.get("condition", item.get("if"))
    if gate == IF_ELSE:
        if condition is None:
            raise place.syntax(f"if_else needs a 'condition' ({CONDITION_FORMS})")
        body, orelse = _block(item, place, "then"), _block(item, place, "else")
    elif condition is not None:
        body, orelse = _gate(item, gate, place), []
    else:
        return _gate(item, gate, place)
    statement = Statement(
        name="if",
        args=[],
        place=place,
        condition=_condition(condition, place),
        body=body,
        orelse=orelse,
    )
    return [statement]


def _block(item: dict[str, Any], place: JsonPlace, key: str) -> list[Statement]:
    value = item.get(key, [])
    if not isinstance(value, list):
        raise place.syntax(f"'{key}' must be a list of gates")
    return _statements(value, path=f"{place.path}.{key}", label=f"{place.label} {key}")


def _gate(item: dict[str, Any], gate: str, place: JsonPlace) -> list[Statement]:
    qubits = item.get("qubits", [])
    params = item.get("params", [])
    clbits = item.get("clbits", [])
    if not isinstance(qubits, list) or not isinstance(params, list) or not isinstance(clbits, list):
        raise place.syntax("'qubits', 'params' and 'clbits' must be lists")
    texts = [_json_param(p, f"{place.path}.params") for p in params]
    qubit_texts = [str(_json_int(q, f"{place.path}.qubits")) for q in qubits]
    clbit_texts = [str(_json_int(c, f"{place.path}.clbits")) for c in clbits]
    if canonical_name(gate) == "measure" and clbit_texts:
        if len(clbit_texts) != len(qubit_texts) or texts:
            raise place.syntax("measure needs one classical bit per qubit and no params")
        return [
            Statement(name=gate, args=[Arg(q, place), Arg(c, place)], place=place)
            for q, c in zip(qubit_texts, clbit_texts, strict=True)
        ]
    args = [Arg(text, place) for text in texts + qubit_texts + clbit_texts]
    return [Statement(name=gate, args=args, place=place)]


def _condition(value: Any, place: JsonPlace) -> ConditionSyntax:
    if isinstance(value, str):
        return _read_condition(value, place)
    if isinstance(value, dict) and set(value) <= {"clbits", "value"} and "value" in value:
        bits = value.get("clbits")
        parsed = (
            None
            if bits is None
            else tuple(
                _json_int(b, f"{place.path}.condition.clbits") for b in _as_list(bits, place)
            )
        )
        return ConditionSyntax(
            bits=parsed,
            value=_json_int(value["value"], f"{place.path}.condition.value"),
            negated=False,
            place=place,
        )
    raise place.syntax(
        f'condition must be text ({CONDITION_FORMS}) or {{"clbits": [0], "value": 1}}, '
        f"got {value!r}"
    )


def _as_list(value: Any, place: JsonPlace) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise place.syntax("condition clbits must be a non-empty list of classical bit indices")
    return value


def _json_param(value: Any, field: str) -> str:
    """A parameter as text: a number, or an expression such as ``"pi/2"``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str) and value.strip() and not set(value) & set(";,\n\r#"):
        return value
    raise CircuitValidationError(
        f"{field} must be a number or an expression like 'pi/2', got {value!r}", field=field
    )


def _json_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CircuitValidationError(
            f"{field} must be an integer (0 or more), got {value!r}", field=field
        )
    return value
