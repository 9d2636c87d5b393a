"""The runner: permissions, policy, subprocess isolation, timeouts, history and drift."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dunes.config import Settings, get_settings
from dunes.errors import MamlPermissionError, MamlSignatureError, MamlValidationError
from dunes.maml import (
    encrypt_document,
    generate_symmetric_key,
    load_symmetric_key,
    read_history,
    run_document,
    sign_document,
)
from tests.maml.conftest import doc


def touch_block(marker: Path, name: str = "touch") -> str:
    return f"## Touch\n```bash {{name={name}}}\ntouch {marker}\necho touched\n```\n"


def test_execute_false_never_runs_a_block(settings: Settings, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = doc(touch_block(marker), execute=False)
    for kwargs in ({}, {"dry_run": True}, {"block": "touch"}, {"trust": True}):
        with pytest.raises(MamlPermissionError, match=r"permissions\.execute is False"):
            run_document(
                settings=settings,
                text=text,
                source_path=None if "trust" not in kwargs else _file(tmp_path, text),
                **kwargs,
            )  # type: ignore[arg-type]
    assert not marker.exists()
    assert not (settings.data_dir / "maml").exists()


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "doc.maml.md"
    path.write_text(text)
    return path


def test_dry_run_runs_nothing(settings: Settings, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    result = run_document(
        settings=settings, text=doc(touch_block(marker) + "```text\nnotes\n```\n"), dry_run=True
    )
    assert result.status == "dry_run"
    assert [(b.name, b.status) for b in result.blocks] == [
        ("touch", "planned"),
        ("touch-2", "skipped"),
    ]
    assert not marker.exists()


def test_blocks_run_in_order_in_one_workdir_with_scrubbed_env(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    body = (
        '## A\n```bash {name=a}\necho one > shared.txt\necho "secret=${SECRET_TOKEN:-none} param=$MAML_PARAM_GREETING"\n```\n'
        "## B\n```python {name=b}\nimport os\nprint(open('shared.txt').read().strip(), os.getcwd() == os.environ['HOME'])\n```\n"
    )
    result = run_document(settings=settings, text=doc(body), params={"greeting": "hello"})
    assert result.status == "ok", result
    assert [b.stdout for b in result.blocks] == ["secret=none param=hello\n", "one True\n"]
    assert Path(result.workdir or "").joinpath("shared.txt").is_file()
    assert all(len(b.output_sha256 or "") == 64 for b in result.blocks)


def test_failing_block_stops_the_run(settings: Settings, tmp_path: Path) -> None:
    marker = tmp_path / "after"
    body = "## Bad\n```sh {name=bad}\necho oops >&2\nexit 3\n```\n" + touch_block(marker)
    result = run_document(settings=settings, text=doc(body))
    assert result.status == "failed"
    assert [(b.status, b.exit_code) for b in result.blocks] == [("failed", 3), ("not_run", None)]
    assert result.blocks[0].stderr == "oops\n"
    assert not marker.exists()


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    settings = get_settings(maml={"block_timeout_s": 1.0})
    pidfile = tmp_path / "child.pid"
    body = f"```bash {{name=slow}}\nsleep 60 &\necho $! > {pidfile}\nsleep 60\n```\n"
    started = time.monotonic()
    result = run_document(settings=settings, text=doc(body))
    assert time.monotonic() - started < 20
    assert result.status == "failed"
    assert result.blocks[0].status == "timeout" and "killed after 1 s" in (
        result.blocks[0].reason or ""
    )
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        # A killed child may linger as a zombie until init reaps it; a zombie is dead.
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            break
        if state == "Z":
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"background child {child} survived the block timeout")


def test_block_timeout_attribute_lowers_the_limit(settings: Settings) -> None:
    result = run_document(settings=settings, text=doc("```bash {timeout=0.5}\nsleep 30\n```\n"))
    assert result.blocks[0].status == "timeout"
    assert result.blocks[0].duration_s < 10


def test_require_signature_refuses_unsigned_and_tampered(
    tmp_path: Path, private_key, keypair
) -> None:  # type: ignore[no-untyped-def]
    settings = get_settings(maml={"require_signature": True, "trusted_keys": [str(keypair[1])]})
    marker = tmp_path / "ran"
    text = doc(touch_block(marker))
    with pytest.raises(MamlSignatureError, match=r"not signed.*require_signature"):
        run_document(settings=settings, text=text)
    signed = sign_document(text, private_key)
    tampered = signed.replace("echo touched", "echo TOUCHED")
    with pytest.raises(MamlSignatureError, match="changed after signing"):
        run_document(settings=settings, text=tampered)
    # --trust never rescues a tampered signature, and is refused for text without a local file.
    with pytest.raises(MamlSignatureError):
        run_document(
            settings=settings, text=tampered, source_path=_file(tmp_path, tampered), trust=True
        )
    with pytest.raises(MamlPermissionError, match="only to local files"):
        run_document(settings=settings, text=text, trust=True)
    assert not marker.exists()
    result = run_document(settings=settings, text=signed)
    assert result.status == "ok" and result.signed and result.key_id
    assert marker.exists()


def test_trust_runs_a_local_unsigned_file(tmp_path: Path) -> None:
    settings = get_settings(maml={"require_signature": True})
    text = doc("```sh\necho trusted\n```\n")
    result = run_document(
        settings=settings, text=text, source_path=_file(tmp_path, text), trust=True
    )
    assert result.status == "ok" and not result.signed
    assert any("--trust" in w for w in result.warnings)


def test_disallowed_language_is_refused_before_anything_runs(tmp_path: Path) -> None:
    settings = get_settings(maml={"allowed_languages": ["python"]})
    marker = tmp_path / "ran"
    body = f"```python\nopen({str(marker)!r}, 'w').close()\n```\n" + touch_block(tmp_path / "x")
    with pytest.raises(MamlPermissionError, match="bash not allowed"):
        run_document(settings=settings, text=doc(body))
    assert not marker.exists()


def test_declared_parameters_are_checked(settings: Settings) -> None:
    text = doc("```sh\necho $MAML_PARAM_N\n```\n", extra="parameters: {n: 3}\n")
    assert run_document(settings=settings, text=text).blocks[0].stdout == "3\n"
    assert run_document(settings=settings, text=text, params={"n": "5"}).blocks[0].stdout == "5\n"
    with pytest.raises(MamlValidationError, match="unknown parameter 'm'; declared: n"):
        run_document(settings=settings, text=text, params={"m": "1"})


def test_single_block_and_unknown_block(settings: Settings) -> None:
    text = doc("```sh {name=one}\necho 1\n```\n```sh {name=two}\necho 2\n```\n")
    result = run_document(settings=settings, text=text, block="two")
    assert [(b.name, b.stdout) for b in result.blocks] == [("two", "2\n")]
    with pytest.raises(MamlValidationError, match="no block named 'three'; blocks: one, two"):
        run_document(settings=settings, text=text, block="three")


def test_circuit_and_yaml_blocks(settings: Settings) -> None:
    body = '```circuit {name=bell}\nh(0); cx(0,1)\n```\n```qasm {name=q shots=100 seed=3}\nOPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nx q[0];\nmeasure q[0] -> c[0];\n```\n```yaml {name=data}\na: [1, 2]\n```\n'
    result = run_document(settings=settings, text=doc(body), record=False)
    assert result.status == "ok", result
    bell, q, data = result.blocks
    assert bell.data["probabilities"] == {"00": 0.5, "11": 0.5}
    assert q.data["counts"] == {"1": 100}
    assert data.data["value"] == {"a": [1, 2]}


def test_bad_circuit_fails_the_block(settings: Settings) -> None:
    result = run_document(settings=settings, text=doc("```circuit\nfoo(0)\n```\n"), record=False)
    assert result.status == "failed" and "foo" in result.blocks[0].stderr


def test_write_appends_history_and_frozen_detects_drift(
    settings: Settings, tmp_path: Path, private_key, public_key, keypair
) -> None:  # type: ignore[no-untyped-def]
    counter = tmp_path / "count"
    body = f"```bash {{name=count}}\necho x >> {counter}\nwc -l < {counter}\n```\n```sh {{name=fixed}}\necho same\n```\n"
    text = sign_document(doc(body, write=True), private_key)
    path = _file(tmp_path, text)
    with pytest.raises(MamlValidationError, match="there are none yet"):
        run_document(settings=settings, text=text, source_path=path, frozen=True)
    first = run_document(settings=settings, text=text, source_path=path, keys=[keypair[1]])
    assert first.history_written and first.signed
    written = path.read_text()
    assert written == first.document_text
    (entry,) = read_history(written)
    assert entry.status == "ok" and entry.signed and entry.run_id == first.run_id
    assert [(r.block, r.output_sha256) for r in entry.rows] == [
        (b.name, b.output_sha256) for b in first.blocks
    ]
    # The history sits outside the signature: the written file still verifies.
    strict = get_settings(maml={"require_signature": True, "trusted_keys": [str(keypair[1])]})
    again = run_document(settings=strict, text=written, source_path=path, frozen=True)
    assert again.status == "drift"
    assert len(again.drift) == 1 and "block 'count'" in again.drift[0]
    assert path.read_text() == written  # --frozen never writes
    # Only the stable block: no drift.
    assert run_document(settings=strict, text=written, block="fixed", frozen=True).status == "ok"


def test_encrypted_documents_need_the_key(settings: Settings, tmp_path: Path) -> None:
    key = load_symmetric_key(generate_symmetric_key(tmp_path / "aes").read_bytes())
    marker = tmp_path / "ran"
    sealed = encrypt_document(doc(touch_block(marker)), key)
    with pytest.raises(MamlPermissionError, match="encrypted; decrypt it first"):
        run_document(settings=settings, text=sealed)
    assert not marker.exists()
    result = run_document(settings=settings, text=sealed, decrypt_key=key)
    assert result.status == "ok" and marker.exists()


def test_encrypted_sections_are_skipped(settings: Settings, tmp_path: Path) -> None:
    key = load_symmetric_key(generate_symmetric_key(tmp_path / "aes").read_bytes())
    marker = tmp_path / "ran"
    text = doc("## Open\n```sh {name=open}\necho open\n```\n\n" + touch_block(marker))
    sealed = encrypt_document(text, key, section="Touch")
    result = run_document(settings=settings, text=sealed)
    assert [(b.name, b.status) for b in result.blocks] == [("open", "ok"), ("touch", "skipped")]
    assert any("encrypted" in w for w in result.warnings) and not marker.exists()


def test_bad_quantum_graph_fails_its_block(settings: Settings) -> None:
    result = run_document(settings=settings, text=doc("```yaml {name=g}\nquantum_graph: 5\n```\n"))
    assert result.status == "failed"
    assert (result.blocks[0].reason or "").startswith("quantum_graph not imported")


def test_block_names_never_escape_the_workdir(settings: Settings, tmp_path: Path) -> None:
    result = run_document(
        settings=settings, text=doc("```sh {name=../../../escape}\necho ok\n```\n")
    )
    assert result.status == "ok"
    scripts = list(Path(result.workdir or "").joinpath(".maml").iterdir())
    assert {p.suffix for p in scripts} == {".sh", ".out", ".err"}
    assert not list(settings.data_dir.rglob("escape*"))


def test_cancel_kills_the_running_block_and_skips_the_rest(
    settings: Settings, tmp_path: Path
) -> None:
    import threading

    marker = tmp_path / "after"
    cancel = threading.Event()
    seen: list[str] = []

    def progress(fraction: float, message: str) -> None:
        seen.append(message)
        if "slow" in message:
            threading.Timer(0.3, cancel.set).start()

    body = "```sh {name=slow}\nsleep 30\n```\n" + touch_block(marker)
    started = time.monotonic()
    result = run_document(settings=settings, text=doc(body), cancel=cancel, progress=progress)
    assert time.monotonic() - started < 15
    assert result.status == "cancelled"
    assert [b.status for b in result.blocks] == ["cancelled", "cancelled"]
    assert seen[0] == "block slow (sh)" and not marker.exists()


def test_run_is_recorded_with_the_given_store_and_job(settings: Settings) -> None:
    from dunes.beluga import open_store

    store = open_store(settings)
    result = run_document(
        settings=settings,
        text=doc("```circuit {name=bell}\nh(0); cx(0,1)\n```\n"),
        store=store,
        job_id="job-123",
    )
    run = store.get_node(result.graph["run"])
    assert run.data["job_id"] == "job-123" and run.data["status"] == "ok"
    (sim,) = result.graph["simulations"]
    upstream = store.lineage(sim["circuit"], depth=1, direction="both")
    assert result.graph["document"] in {n.id for n in upstream.nodes}


def test_history_tells_a_signature_not_checked_from_none(
    settings: Settings, tmp_path: Path, private_key
) -> None:  # type: ignore[no-untyped-def]
    signed = sign_document(doc("```sh {name=hi}\necho hi\n```\n", write=True), private_key)
    result = run_document(settings=settings, text=signed, source_path=_file(tmp_path, signed))
    assert result.status == "ok" and not result.signed
    (entry,) = read_history(result.document_text or "")
    assert entry.signature == "signed-unchecked" and not entry.signed
    plain = doc("```sh {name=hi}\necho hi\n```\n", write=True)
    unsigned = run_document(settings=settings, text=plain, source_path=_file(tmp_path, plain))
    assert read_history(unsigned.document_text or "")[0].signature == "unsigned"


@pytest.mark.parametrize(
    ("block", "fragment"),
    [
        ("```python {name=b}\nx = bytearray(512 * 1024 * 1024)\n```\n", "maml.sandbox_memory_mb"),
        ("```python {name=b}\nwhile True:\n    pass\n```\n", "SIGXCPU"),
        ("```bash {name=b}\nhead -c 3000000 /dev/zero > big\n```\n", "sandbox_file_size_mb"),
    ],
)
def test_a_block_past_a_sandbox_limit_is_stopped_and_says_which(
    tmp_path: Path, block: str, fragment: str
) -> None:
    limited = get_settings(
        data_dir=tmp_path,
        maml={"sandbox_memory_mb": 256, "sandbox_cpu_s": 1, "sandbox_file_size_mb": 1},
    )
    started = time.monotonic()
    result = run_document(settings=limited, text=doc(block), record=False)
    (ran,) = result.blocks
    assert ran.status == "failed" and fragment in (ran.reason or ""), ran
    assert time.monotonic() - started < 30


def test_a_block_gets_no_secrets_and_no_network(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from dunes.maml.sandbox import network_isolation

    monkeypatch.setenv("DUNES_API__API_KEYS", '["s3cret"]')
    body = (
        "```python {name=b}\nimport os, socket\nprint(sorted(os.environ))\n"
        "try:\n    socket.create_connection(('127.0.0.1', 6379), timeout=2)\n    print('net')\n"
        "except OSError as exc:\n    print('no net', exc.errno)\n```\n"
    )
    result = run_document(settings=get_settings(data_dir=tmp_path), text=doc(body), record=False)
    (ran,) = result.blocks
    assert ran.status == "ok", ran
    assert "DUNES_API__API_KEYS" not in ran.stdout and "s3cret" not in ran.stdout
    if network_isolation():
        assert "no net" in ran.stdout
