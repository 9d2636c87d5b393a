"""Run a MAML document under its permissions and the local policy; the one path every interface uses.

Order of checks, all before any block runs: parse and validate, signature policy, ``execute``
permission, language policy, parameters. Scripts run one per subprocess in their own process group
with a scrubbed environment and a timeout; circuits go to dunes' simulator; YAML blocks are data.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field

from dunes.beluga.maml_record import MamlRecorder
from dunes.config import Settings
from dunes.errors import (
    DunesError,
    MamlError,
    MamlPermissionError,
    MamlSignatureError,
    MamlValidationError,
)
from dunes.maml.crypto import (
    decrypt_document,
    load_public_key,
    signed_region,
    strip_signature,
    verify_document,
)
from dunes.maml.history import HistoryEntry, HistoryRow, Signature, append_history, recorded_outputs
from dunes.maml.model import CodeBlock, MamlDocument
from dunes.maml.parser import load_document
from dunes.maml.policy import PROCESS_LANGUAGES, Origin, check_execution
from dunes.maml.sandbox import Limits, limit_reason, sandboxed

log = logging.getLogger(__name__)

RUNNABLE = ("bash", "sh", "python", "qasm", "circuit", "yaml")
MAX_OUTPUT = 1_000_000
BlockStatus = Literal["ok", "failed", "timeout", "skipped", "planned", "not_run", "cancelled"]
Progress = Callable[[float, str], None]


class BlockResult(BaseModel):
    """What one block did."""

    name: str
    language: str
    line: int
    status: BlockStatus
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    block_sha256: str
    output_sha256: str | None = None
    data: Any = None
    reason: str | None = None


class MamlRunResult(BaseModel):
    """What a run did; ``document_text`` is the document with its new History entry, if written."""

    run_id: str
    document_id: str
    status: Literal["ok", "failed", "dry_run", "drift", "cancelled"]
    signed: bool
    key_id: str | None = None
    blocks: list[BlockResult]
    warnings: list[str] = Field(default_factory=list)
    drift: list[str] = Field(default_factory=list)
    workdir: str | None = None
    history_written: bool = False
    document_text: str | None = None
    graph: dict[str, Any] = Field(default_factory=dict)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _public_keys(settings: Settings, keys: Sequence[Path]) -> list[Any]:
    loaded = []
    for path in [*keys, *settings.maml.trusted_keys]:
        try:
            loaded.append(load_public_key(Path(path).read_bytes()))
        except OSError as exc:
            raise MamlSignatureError(
                f"cannot read public key {path}: {exc.strerror}", field="key"
            ) from exc
    return loaded


def _check_signature(
    *,
    settings: Settings,
    text: str,
    doc: MamlDocument,
    keys: Sequence[Path],
    trust: bool,
    local: bool,
    warnings: list[str],
) -> tuple[bool, str | None]:
    if trust and not local:
        raise MamlPermissionError(
            "--trust applies only to local files; this document came from elsewhere", field="trust"
        )
    public = _public_keys(settings, keys)
    signature = doc.front_matter.signature if doc.front_matter else None
    if signature is not None and public:
        info = verify_document(text, public)
        return True, info.key_id
    required = settings.maml.require_signature
    if signature is not None:
        message = "the document is signed but no public key was given (--key or maml.trusted_keys), so the signature is unchecked"
    else:
        message = "the document is not signed"
    if required and not trust:
        raise MamlSignatureError(
            f"{message}; policy maml.require_signature refuses it (--trust runs a local file anyway)",
            field="signature",
        )
    warnings.append(message + (" (run under --trust)" if required else ""))
    return False, None


def _signature_state(verified: bool, present: bool) -> Signature:
    if verified:
        return "signed"
    return "signed-unchecked" if present else "unsigned"


def _selected(
    doc: MamlDocument, block: str | None, warnings: list[str]
) -> list[tuple[CodeBlock, str | None]]:
    """Blocks in order, each with the reason it is skipped (None: it runs)."""
    if block is not None:
        chosen = doc.block(block)
        if chosen.language not in RUNNABLE:
            raise MamlValidationError(
                f"block {block!r} is {chosen.language or 'plain text'}; runnable: {', '.join(RUNNABLE)}",
                field="block",
            )
        return [(chosen, None)]
    out: list[tuple[CodeBlock, str | None]] = []
    for b in doc.blocks:
        if b.encrypted:
            warnings.append(
                f"section {b.section!r} is encrypted and was not run (decrypt it first)"
            )
            out.append((b, "encrypted"))
        elif b.language not in RUNNABLE:
            out.append((b, f"{b.language or 'plain'} blocks are documentation"))
        elif (
            b.attributes.get("skip", "false").lower() == "true"
            or b.attributes.get("excludeFromRunAll", "false").lower() == "true"
        ):
            out.append((b, "marked skip"))
        else:
            out.append((b, None))
    return out


def _env(
    settings: Settings, workdir: Path, run_id: str, block: CodeBlock, params: Mapping[str, str]
) -> dict[str, str]:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])
    env = {
        "PATH": path,
        "HOME": str(workdir),
        "TMPDIR": str(workdir / ".tmp"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "DUNES_DATA_DIR": str(settings.data_dir),
        "MAML_RUN_ID": run_id,
        "MAML_BLOCK": block.name,
    }
    for key, value in params.items():
        env["MAML_PARAM_" + "".join(c if c.isalnum() else "_" for c in key).upper()] = value
    return env


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _read_capped(path: Path) -> str:
    with path.open("rb") as fh:
        data = fh.read(MAX_OUTPUT + 1)
    text = data[:MAX_OUTPUT].decode("utf-8", "replace")
    return text + ("\n[output truncated]" if len(data) > MAX_OUTPUT else "")


def _run_script(
    *,
    settings: Settings,
    block: CodeBlock,
    workdir: Path,
    run_id: str,
    params: Mapping[str, str],
    cancel: threading.Event | None,
) -> BlockResult:
    meta = workdir / ".maml"
    meta.mkdir(exist_ok=True)
    (workdir / ".tmp").mkdir(exist_ok=True)
    # Names come from the document: only a slug of them may reach a file name.
    stem = f"{block.index:02d}-" + re.sub(r"[^A-Za-z0-9_-]+", "_", block.name)[:60]
    suffix = ".py" if block.language == "python" else ".sh"
    script = meta / (stem + suffix)
    script.write_text(block.content, encoding="utf-8")
    command = {
        "bash": ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", str(script)],
        "sh": ["sh", "-e", str(script)],
        "python": [sys.executable, "-I", str(script)],
    }[block.language]
    timeout = settings.maml.block_timeout_s
    if "timeout" in block.attributes:
        timeout = min(timeout, float(block.attributes["timeout"]))
    out_path, err_path = meta / (stem + ".out"), meta / (stem + ".err")
    limits = Limits.from_settings(settings.maml, timeout_s=timeout)
    command = sandboxed(command, limits, isolate_network=not settings.maml.sandbox_network)
    started = time.monotonic()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        try:
            proc = subprocess.Popen(
                command,
                cwd=workdir,
                env=_env(settings, workdir, run_id, block, params),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        except OSError as exc:
            raise MamlError(
                f"cannot start {command[0]} for block {block.name!r}: {exc.strerror}"
            ) from exc
        status: BlockStatus = "ok"
        try:
            while True:
                try:
                    proc.wait(timeout=0.1)
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() - started > timeout:
                        status = "timeout"
                        break
                    if cancel is not None and cancel.is_set():
                        status = "cancelled"
                        break
        finally:
            # Always reap the whole group: background children of a block do not outlive it.
            _kill_group(proc)
            proc.wait()
    stdout, stderr = _read_capped(out_path), _read_capped(err_path)
    code = proc.returncode
    reason = None
    if status == "timeout":
        reason = f"killed after {timeout:g} s (maml.block_timeout_s or the block's timeout)"
    elif status == "ok" and code != 0:
        status = "failed"
        reason = limit_reason(code, stderr) or f"exit code {code}"
    return BlockResult(
        name=block.name, language=block.language, line=block.line, status=status,
        exit_code=code, stdout=stdout, stderr=stderr, duration_s=round(time.monotonic() - started, 4),
        block_sha256=block.sha256, output_sha256=_sha(f"exit={code}\n".encode() + stdout.encode()), reason=reason,
    )  # fmt: skip


def _run_circuit(
    *, settings: Settings, block: CodeBlock, record: Callable[[Any, Any], None]
) -> BlockResult:
    from dunes.quantum import SimulationOptions, parse_circuit, simulate

    started = time.monotonic()
    try:
        options = SimulationOptions(
            shots=int(block.attributes.get("shots", 0)),
            seed=int(block.attributes["seed"]) if "seed" in block.attributes else None,
        )
        spec = parse_circuit(block.content, fmt="seed" if block.language == "circuit" else "auto")
        result = simulate(spec, options, settings=settings.quantum)
    except (DunesError, ValueError) as exc:
        return BlockResult(
            name=block.name,
            language=block.language,
            line=block.line,
            status="failed",
            stderr=str(exc),
            block_sha256=block.sha256,
            reason=str(exc)[:300],
            duration_s=round(time.monotonic() - started, 4),
        )
    summary = {
        "num_qubits": result.num_qubits,
        "circuit": result.circuit,
        "statevector": [[round(re, 8), round(im, 8)] for re, im in result.statevector]
        if result.statevector
        else None,
        "probabilities": {k: round(v, 8) for k, v in (result.probabilities or {}).items()} or None,
        "counts": result.counts,
    }
    stdout = json.dumps(summary, sort_keys=True)
    record(spec, result)
    return BlockResult(
        name=block.name,
        language=block.language,
        line=block.line,
        status="ok",
        exit_code=0,
        stdout=stdout,
        data=summary,
        block_sha256=block.sha256,
        output_sha256=_sha(stdout.encode()),
        duration_s=round(time.monotonic() - started, 4),
    )


def _run_yaml(*, block: CodeBlock, import_graph: Callable[[str], Any]) -> BlockResult:
    try:
        data = yaml.safe_load(block.content)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        return BlockResult(
            name=block.name,
            language="yaml",
            line=block.line,
            status="failed",
            stderr=f"not valid YAML: {exc}",
            block_sha256=block.sha256,
            reason="invalid YAML",
        )
    stdout = json.dumps(data, sort_keys=True, default=str)
    imported = None
    if isinstance(data, dict) and "quantum_graph" in data:
        try:
            imported = import_graph(block.content)
        except DunesError as exc:
            return BlockResult(
                name=block.name,
                language="yaml",
                line=block.line,
                status="failed",
                stdout=stdout,
                stderr=str(exc),
                block_sha256=block.sha256,
                reason=f"quantum_graph not imported: {exc}"[:300],
            )
    return BlockResult(
        name=block.name,
        language="yaml",
        line=block.line,
        status="ok",
        exit_code=0,
        stdout=stdout,
        data={"value": data, "imported": imported},
        block_sha256=block.sha256,
        output_sha256=_sha(stdout.encode()),
    )


def run_document(
    *,
    settings: Settings,
    text: str,
    source_path: Path | None = None,
    block: str | None = None,
    params: Mapping[str, str] | None = None,
    dry_run: bool = False,
    trust: bool = False,
    frozen: bool = False,
    keys: Sequence[Path] = (),
    decrypt_key: bytes | None = None,
    record: bool = True,
    store: Any = None,
    job_id: str | None = None,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
    origin: Origin = "local",
) -> MamlRunResult:
    """Check and run ``text``; with ``write`` permission append a History entry.

    ``source_path`` marks a local file: ``--trust`` needs it, and the History entry is written
    back to it. ``keys`` (public keys) add to ``settings.maml.trusted_keys``. ``store`` is an
    open BELUGA store to record in (default: ``open_store(settings)``), ``job_id`` the job the run
    belongs to. ``progress(fraction, message)`` is called before each block; setting ``cancel``
    kills the running block and skips the rest.

    Raises:
        MamlSyntaxError, MamlValidationError: the document is malformed.
        MamlSignatureError: unsigned under ``require_signature``, or tampered.
        MamlPermissionError: ``execute`` not granted, a language not allowed, ``--trust`` remote.
    """
    warnings: list[str] = []
    doc = load_document(text)
    front = doc.front_matter
    assert front is not None
    local = source_path is not None and Path(source_path).is_file()
    signed, kid = _check_signature(
        settings=settings,
        text=text,
        doc=doc,
        keys=keys,
        trust=trust,
        local=local,
        warnings=warnings,
    )
    if front.encrypted is not None or any(b.encrypted for b in doc.blocks):
        if decrypt_key is not None:
            doc = load_document(decrypt_document(text, decrypt_key))
            front = doc.front_matter
            assert front is not None
        elif front.encrypted is not None:
            raise MamlPermissionError(
                "the document is encrypted; decrypt it first (dunes maml decrypt, or run with a decryption key)",
                field="document",
            )
    if not front.permissions.allows("execute"):
        raise MamlPermissionError(
            f"permissions.execute is {front.permissions.execute!r}: this document may not be run (set execute: true to allow it)",
            field="permissions.execute",
        )
    plan = _selected(doc, block, warnings)
    check_execution(
        origin=origin,
        verified=signed,
        blocks=[(b.name, b.language) for b, why in plan if why is None],
        settings=settings.maml,
    )
    allowed = settings.maml.allowed_languages
    refused = sorted({b.language for b, why in plan if why is None and b.language not in allowed})
    if refused:
        raise MamlPermissionError(
            f"language(s) {', '.join(refused)} not allowed by maml.allowed_languages ({', '.join(allowed)})",
            field="language",
        )
    values = {k: str(v) for k, v in front.parameters.items()}
    for key, value in (params or {}).items():
        if front.parameters and key not in front.parameters:
            raise MamlValidationError(
                f"unknown parameter {key!r}; declared: {', '.join(front.parameters)}",
                field="params",
            )
        values[key] = value
    recorded = recorded_outputs(text) if frozen else {}
    if frozen and not recorded:
        raise MamlValidationError(
            "--frozen compares with the outputs in the History section, and there are none yet (run once with write permission)",
            field="frozen",
        )
    run_id = uuid.uuid4().hex[:12]
    document_id = front.id or "sha256:" + _sha(signed_region(strip_signature(text)[0]))
    if dry_run:
        blocks = [
            BlockResult(
                name=b.name,
                language=b.language,
                line=b.line,
                status="skipped" if why else "planned",
                block_sha256=b.sha256,
                reason=why,
            )
            for b, why in plan
        ]
        return MamlRunResult(
            run_id=run_id,
            document_id=document_id,
            status="dry_run",
            signed=signed,
            key_id=kid,
            blocks=blocks,
            warnings=warnings,
        )
    workdir = settings.data_dir / "maml" / "runs" / run_id
    workdir.mkdir(parents=True, exist_ok=True)
    recorder = MamlRecorder(settings, warnings, enabled=record, store=store, job_id=job_id)
    results: list[BlockResult] = []
    failed = False
    runnable = [b for b, why in plan if why is None]
    for b, why in plan:
        if why is not None or failed or (cancel is not None and cancel.is_set()):
            status: BlockStatus = (
                "skipped"
                if why
                else ("cancelled" if cancel is not None and cancel.is_set() else "not_run")
            )
            results.append(
                BlockResult(
                    name=b.name,
                    language=b.language,
                    line=b.line,
                    status=status,
                    block_sha256=b.sha256,
                    reason=why,
                )
            )
            continue
        if progress is not None:
            progress(runnable.index(b) / max(len(runnable), 1), f"block {b.name} ({b.language})")
        if b.language in PROCESS_LANGUAGES:
            res = _run_script(
                settings=settings,
                block=b,
                workdir=workdir,
                run_id=run_id,
                params=values,
                cancel=cancel,
            )
        elif b.language in {"qasm", "circuit"}:
            res = _run_circuit(settings=settings, block=b, record=recorder.simulation)
        else:
            res = _run_yaml(block=b, import_graph=recorder.import_graph)
        results.append(res)
        failed = res.status != "ok"
    if progress is not None:
        progress(1.0, "done")
    drift = []
    if frozen:
        for res in results:
            if (
                res.output_sha256 is not None
                and res.name in recorded
                and recorded[res.name] != res.output_sha256
            ):
                drift.append(
                    f"block {res.name!r} (line {res.line}): output {res.output_sha256[:12]} differs from recorded {str(recorded[res.name])[:12]}"
                )
    cancelled = any(r.status == "cancelled" for r in results)
    run_status: Literal["ok", "failed", "drift", "cancelled"] = (
        "cancelled" if cancelled else "failed" if failed else "drift" if drift else "ok"
    )
    result = MamlRunResult(
        run_id=run_id,
        document_id=document_id,
        status=run_status,
        signed=signed,
        key_id=kid,
        blocks=results,
        warnings=warnings,
        drift=drift,
        workdir=str(workdir),
    )
    if front.permissions.allows("write") and not frozen:
        entry = HistoryEntry(
            when=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), run_id=run_id, status=run_status, signature=_signature_state(signed, front.signature is not None),
            rows=tuple(HistoryRow(r.name, r.language, r.block_sha256, r.output_sha256, r.status) for r in results if r.status not in {"skipped"}),
        )  # fmt: skip
        result.document_text = append_history(text, entry)
        result.history_written = True
        if local and source_path is not None:
            Path(source_path).write_text(result.document_text, encoding="utf-8")
    try:
        result.graph = recorder.run(
            doc=doc, result=result, source=str(source_path) if source_path else None
        )
    finally:
        recorder.close()
    result.warnings = list(warnings)
    return result
