"""``dunes maml`` as a user runs it: exit codes, files written, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dunes.errors import MamlPermissionError
from dunes.interfaces.cli import app
from tests.maml.conftest import doc


def maml(*args: str, cwd: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(app, ["maml", *args])


def test_fmt_validate_run_frozen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrapped = (
        "```yaml\n" + doc("## Hello\n```sh {name=hello}\necho hello\n```\n", write=True) + "```\n"
    )
    (tmp_path / "d.maml.md").write_text(wrapped)
    bad = maml("validate", "d.maml.md", cwd=tmp_path, monkeypatch=monkeypatch)
    assert bad.exit_code == 1 and "d.maml.md:1: error: the whole document is wrapped" in bad.stdout
    assert maml("fmt", "--check", "d.maml.md", cwd=tmp_path, monkeypatch=monkeypatch).exit_code == 1
    assert maml("fmt", "d.maml.md", cwd=tmp_path, monkeypatch=monkeypatch).exit_code == 0
    assert maml("fmt", "--check", "d.maml.md", cwd=tmp_path, monkeypatch=monkeypatch).exit_code == 0
    assert maml("validate", "d.maml.md", cwd=tmp_path, monkeypatch=monkeypatch).exit_code == 0
    ran = maml("run", "d.maml.md", "--json", cwd=tmp_path, monkeypatch=monkeypatch)
    assert ran.exit_code == 0, ran.output
    result = json.loads(ran.stdout)
    assert result["status"] == "ok" and result["blocks"][0]["stdout"] == "hello\n"
    assert result["history_written"] and "## History" in (tmp_path / "d.maml.md").read_text()
    frozen = maml("run", "d.maml.md", "--frozen", cwd=tmp_path, monkeypatch=monkeypatch)
    assert frozen.exit_code == 0, frozen.output
    assert "run " in frozen.stdout and ": ok" in frozen.stdout


def test_keygen_sign_verify_tamper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.maml.md"
    path.write_text(doc("```sh\necho hi\n```\n"))
    assert maml("keygen", "--out", "me", cwd=tmp_path, monkeypatch=monkeypatch).exit_code == 0
    assert (tmp_path / "me").stat().st_mode & 0o777 == 0o600
    assert (
        maml("sign", "d.maml.md", "--key", "me", cwd=tmp_path, monkeypatch=monkeypatch).exit_code
        == 0
    )
    ok = maml("verify", "d.maml.md", "--key", "me.pub", cwd=tmp_path, monkeypatch=monkeypatch)
    assert ok.exit_code == 0 and "signature valid" in ok.stdout
    path.write_text(path.read_text().replace("echo hi", "echo HI"))
    bad = maml("verify", "d.maml.md", "--key", "me.pub", cwd=tmp_path, monkeypatch=monkeypatch)
    assert bad.exit_code != 0 and "changed after signing" in str(bad.exception)
    assert (
        maml(
            "keygen", "--symmetric", "--out", "aes", cwd=tmp_path, monkeypatch=monkeypatch
        ).exit_code
        == 0
    )
    assert (
        maml(
            "encrypt",
            "d.maml.md",
            "--key",
            "aes",
            "--out",
            "e.maml.md",
            cwd=tmp_path,
            monkeypatch=monkeypatch,
        ).exit_code
        == 0
    )
    assert "echo HI" not in (tmp_path / "e.maml.md").read_text()
    assert (
        maml(
            "decrypt", "e.maml.md", "--key", "aes", cwd=tmp_path, monkeypatch=monkeypatch
        ).exit_code
        == 0
    )
    assert (tmp_path / "e.maml.md").read_text() == path.read_text()


def test_refusal_raises_the_dunes_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "d.maml.md").write_text(doc("```sh\necho no\n```\n", execute=False))
    refused = maml("run", "d.maml.md", cwd=tmp_path, monkeypatch=monkeypatch)
    assert isinstance(refused.exception, MamlPermissionError)


def test_entry_point_prints_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "d.maml.md").write_text(doc("```sh\necho no\n```\n", execute=False))
    cli = [
        sys.executable,
        "-c",
        "from dunes.interfaces.cli import main; main()",
        "maml",
        "run",
        "d.maml.md",
    ]
    refused = subprocess.run(
        cli, cwd=tmp_path, capture_output=True, text=True, env=os.environ.copy(), timeout=120
    )
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error: permissions.execute is False: this document may not be run (set execute: true to allow it)"
    ]
