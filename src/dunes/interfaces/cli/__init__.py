"""The ``dunes`` command line: one Typer app, one sub-module per group of commands."""

from __future__ import annotations

import logging
import os
import sys

import typer

from dunes.interfaces.cli import agents, maml, mcp_cmd, quantum, runtime_cmd, serve, sweep
from dunes.interfaces.cli import graph as graph_cmd
from dunes.interfaces.cli import jobs as jobs_cmd
from dunes.interfaces.cli.common import guarded, plain_help

app = typer.Typer(
    name="dunes",
    help="Quantum simulation and LLM agents across GPUs: CLI, REST and MCP.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
app.command()(quantum.simulate)
app.command()(quantum.gpus)
app.command()(sweep.sweep)
app.add_typer(agents.app, name="agents")
app.add_typer(maml.app, name="maml")
app.add_typer(graph_cmd.app, name="graph")
app.add_typer(runtime_cmd.app, name="runtime")
app.command()(serve.serve)
app.command(name="mcp")(mcp_cmd.mcp)
app.command()(jobs_cmd.run)
app.add_typer(jobs_cmd.app, name="jobs")
app.command()(jobs_cmd.worker)
app.command()(jobs_cmd.doctor)


def main() -> None:
    """Entry point: run the app, turning every DunesError into one line on stderr.

    Usage errors (unknown option, missing argument) are Typer's own: usage and exit code 2.
    """
    logging.basicConfig(level=os.environ.get("DUNES_LOG_LEVEL", "WARNING").upper())
    sys.exit(guarded(plain_help(typer.main.get_command(app))))
