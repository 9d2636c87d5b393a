"""``--help`` reads as a person writes it: values named after their options, choices whole and
spelled out, no type tags, nothing past 80 columns."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import typer.main
from typer.core import TyperOption

from dunes.interfaces.cli import app
from dunes.interfaces.cli.common import plain_help
from tests.interfaces.api.conftest import dunes_executable

TYPE_TAG = re.compile(r"<(int|str|float|bool|path|list\[[a-z]+\]|[a-z_]+\|[a-z_|]+)>")


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


def test_every_help_page_has_no_type_tags_and_fits_80_columns() -> None:
    root = plain_help(typer.main.get_command(app))
    pages = 0
    for path, command in commands(root):
        name = " ".join(("dunes", *path))
        ctx = command.context_class(
            command, info_name=name, terminal_width=80, max_content_width=80
        )
        page = command.get_help(ctx)
        pages += 1
        assert not TYPE_TAG.search(page), (path, page)
        assert max(len(line) for line in page.splitlines()) <= 80, (path, page)
        for param in command.params:
            described = getattr(param, "type_descriptor", None)
            if isinstance(param, TyperOption) and described and described.is_choice:
                flat = " ".join(page.split())
                assert all(str(c) in flat for c in described.choices), (path, param.name)
    assert pages > 25


def test_the_installed_command_shows_plain_help() -> None:
    done = subprocess.run(
        [dunes_executable(), "simulate", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert "--shots SHOTS" in done.stdout and "--method METHOD" in done.stdout
    assert "matrix_product_state" in done.stdout and not TYPE_TAG.search(done.stdout)
