"""``dunes runtime status|start|stop``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from dunes.interfaces.cli.common import JsonFlag, console, print_json

if TYPE_CHECKING:
    from dunes.config import Settings

app = typer.Typer(help="The warm local runtime that keeps models and workers loaded.")


def _settings() -> Settings:
    from dunes.config import get_settings

    return get_settings()


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Whether the runtime runs, for how long, and whether it is this version of dunes."""
    from dunes.services import runtime

    found = runtime.status(_settings())
    if as_json:
        print_json(found)
        return
    if not found["running"]:
        console.print("no runtime running (the next dunes run starts one)", highlight=False)
        return
    stale = "" if found["current"] else " [yellow](stale: the next call replaces it)[/]"
    console.print(
        f"runtime pid {found['pid']} up {found['uptime_s']:.0f} s on {found['socket']}{stale}; "
        f"exits after {found['idle_timeout_s']:g} s idle",
        highlight=False,
    )


@app.command()
def start() -> None:
    """Start the runtime now (or keep the current one)."""
    from dunes.services import runtime

    info = runtime.ensure(_settings())
    console.print(f"runtime pid {info.pid} on {info.socket}", highlight=False)


@app.command()
def stop() -> None:
    """Stop the runtime (its workers and models with it)."""
    from dunes.services import runtime

    stopped = runtime.stop(_settings())
    console.print(f"stopped runtime pid {stopped.pid}" if stopped else "no runtime running")
