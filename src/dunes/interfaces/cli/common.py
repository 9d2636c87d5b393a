"""What every CLI command shares: the console, JSON output, the services."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from dunes.services import Services

console = Console()
err_console = Console(stderr=True)


def lazy_import(name: str) -> ModuleType:
    """``name``, imported on first attribute access: ``dunes --help`` and argument errors answer
    without loading qiskit, torch or SQLAlchemy."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


@contextmanager
def services(executor: str | None = None) -> Iterator[Services]:
    """The services for one command, closed when it ends."""
    from dunes.services import Services

    with Services(executor=executor) as opened:
        yield opened


def print_json(value: Any) -> None:
    """Print one JSON document on stdout (pydantic models use their JSON encoding)."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        text = value.model_dump_json()
    else:
        text = json.dumps(value, default=_default)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _default(value: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, complex):
        return [value.real, value.imag]
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
