"""What every CLI command shares: the console, JSON output, the services."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from dunes.services import Services

console = Console()
err_console = Console(stderr=True)

#: ``--json`` on every command that prints a result.
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


#: The exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130


def guarded(work: Callable[[], object]) -> int:
    """Run ``work`` and return the exit status: a DunesError is one line on stderr and 1,
    Ctrl-C 130, anything unexpected one line and 70 (details with DUNES_LOG_LEVEL=DEBUG)."""
    from dunes.errors import DunesError

    try:
        work()
    except SystemExit as exc:  # typer.Exit and click's usage errors end up here
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except DunesError as exc:
        err_console.print(f"error: {exc}", highlight=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return INTERRUPTED
    except Exception as exc:  # last resort: one line, details in the log
        logging.getLogger("dunes").debug("unexpected error", exc_info=True)
        err_console.print(
            f"internal error: {type(exc).__name__}: {exc} (set DUNES_LOG_LEVEL=DEBUG for details)",
            highlight=False,
            soft_wrap=True,
        )
        return 70
    return 0


def plain_help(command: Any) -> Any:
    """``--help`` as people read it: a value named after its option (``--shots SHOTS``), the
    values of a choice spelled out in its help, no type tags (``<int>``, ``<str>``)."""
    from typer.core import TyperArgument, TyperOption

    for sub in getattr(command, "commands", {}).values():
        plain_help(sub)
    for param in command.params:
        if isinstance(param, TyperArgument):
            param.metavar = param.metavar or (param.name or "value").upper()
            param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
        elif isinstance(param, TyperOption) and not param.is_flag and param.metavar is None:
            param.metavar = (param.name or "value").upper()
            described = param.type_descriptor
            if described.is_choice and described.choices:
                values = ", ".join(str(c) for c in described.choices)
                param.help = f"{param.help or ''} One of: {values}.".strip()
    return command


def interruptible(work: Callable[[], None], *, what: str) -> None:
    """Run ``work`` (the rest of a command: compute, then print) in a child process that this one
    waits for: Ctrl-C then stops it at once, even inside Aer's native code where a Python thread
    cannot be interrupted, says what was stopped and exits 130.

    Raises:
        typer.Exit: with the child's exit status when it is not 0.
    """
    import typer

    if not hasattr(os, "fork") or not _real_stdio():
        work()  # in process (tests, embedding): output must reach the caller's streams
        return
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: default Ctrl-C (end at once), the command's own error handling
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        code = guarded(work)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    try:
        _, status = os.waitpid(pid, 0)
    except KeyboardInterrupt:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        err_console.print(
            f"cancelled: {what} (stopped after {time.monotonic() - started:.1f} s)",
            highlight=False,
        )
        raise typer.Exit(INTERRUPTED) from None
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise typer.Exit(code if code > 0 else 128 - code)


def _real_stdio() -> bool:
    try:
        return sys.stdout.fileno() == 1 and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False


def job_progress(*, disable: bool = False) -> Any:
    """The progress display of a job on stderr: its step, a bar, the share done, the time."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=disable,
    )


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
