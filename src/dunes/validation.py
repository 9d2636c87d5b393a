"""Turn pydantic validation failures into a DunesError that names the field and what is accepted."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dunes.errors import InvalidInputError

M = TypeVar("M", bound=BaseModel)


def describe(exc: ValidationError) -> tuple[str, str]:
    """(field, message) for the first error of ``exc``."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "input"
    message = first["msg"]
    expected = first.get("ctx", {}).get("expected")
    if expected and str(expected) not in message:
        message = f"{message}; accepted: {expected}"
    return field, f"{field}: {message} (got {first.get('input')!r})"


def parse_model(model: type[M], data: Any) -> M:
    """Validate ``data`` into ``model``.

    Raises:
        InvalidInputError: names the field and the accepted values.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        field, message = describe(exc)
        raise InvalidInputError(message, field=field) from exc
