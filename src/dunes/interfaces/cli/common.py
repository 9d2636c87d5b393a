"""What every CLI command shares: the console, JSON output, the services."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel
from rich.console import Console

from dunes.services import Services

console = Console()
err_console = Console(stderr=True)


@contextmanager
def services(executor: str | None = None) -> Iterator[Services]:
    """The services for one command, closed when it ends."""
    with Services(executor=executor) as opened:
        yield opened


def print_json(value: Any) -> None:
    """Print one JSON document on stdout (pydantic models use their JSON encoding)."""
    if isinstance(value, BaseModel):
        text = value.model_dump_json()
    else:
        text = json.dumps(value, default=_default)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, complex):
        return [value.real, value.imag]
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
