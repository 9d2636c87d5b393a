"""``dunes doctor``: the troubleshooting list as checks, each naming the fix when it fails."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict

from dunes.config import Settings
from dunes.constants import CPU_QUEUE, ROLES, device_queue
from dunes.errors import DunesError

Status = Literal["ok", "warn", "fail"]


class DoctorCheck(BaseModel):
    """One line of the doctor's report."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: Status
    detail: str
    fix: str | None = None


def run_checks(settings: Settings, *, broker_timeout: float = 1.0) -> list[DoctorCheck]:
    """Every check, in the order a person would go through them."""
    checks = [check_store(settings)]
    checks += check_devices(settings)
    checks.append(check_models(settings))
    broker = check_broker(settings)
    checks.append(broker)
    checks.append(check_workers(settings, broker_ok=broker.status == "ok", timeout=broker_timeout))
    return checks


def check_store(settings: Settings) -> DoctorCheck:
    from dunes.orchestration.store import open_job_store

    url = settings.database_url
    try:
        store = open_job_store(settings)
        store.claim_job(f"doctor-{uuid.uuid4().hex}", worker="doctor")
        store.close()
    except DunesError as exc:
        return DoctorCheck(
            name="store",
            status="fail",
            detail=f"{url}: {exc}",
            fix="check DUNES_STORE__URL (PostgreSQL running? SQLite directory writable?)",
        )
    return DoctorCheck(name="store", status="ok", detail=f"{url} is writable")


def check_devices(settings: Settings) -> list[DoctorCheck]:
    from dunes.devices import discover
    from dunes.quantum.backend import aer_info
    from dunes.quantum.memory import format_bytes

    inventory = discover()
    aer = aer_info()
    out = []
    if inventory.gpus and not aer.gpu_usable:
        out.append(
            DoctorCheck(
                name="aer",
                status="warn",
                detail=f"{aer.distribution} {aer.version} sees only {', '.join(aer.devices)} "
                f"but {len(inventory.gpus)} GPU(s) are present",
                fix="pip uninstall -y qiskit-aer && pip install qiskit-aer-gpu  (CUDA 12)",
            )
        )
    else:
        where = "the GPUs" if aer.gpu_usable else "the CPU"
        out.append(
            DoctorCheck(
                name="aer",
                status="ok",
                detail=f"{aer.distribution} {aer.version}, devices {', '.join(aer.devices)}: runs on {where}",
            )
        )
    for device in inventory.devices:
        share = device.memory_free / device.memory_total if device.memory_total else 0.0
        status: Status = "ok" if share >= 0.1 else "warn"
        out.append(
            DoctorCheck(
                name=f"memory {device.id}",
                status=status,
                detail=f"{device.name}: {format_bytes(device.memory_free)} free of "
                f"{format_bytes(device.memory_total)}",
                fix=None
                if status == "ok"
                else "free memory (nvidia-smi shows which processes hold it) or lower "
                "quantum.max_qubits / agents.max_batch_size",
            )
        )
    return out


def check_models(settings: Settings) -> DoctorCheck:
    from dunes.agents.models import resolve_model

    found = []
    for role in ROLES:
        try:
            found.append(f"{role}={resolve_model(role, settings.agents).name}")
        except DunesError as exc:
            return DoctorCheck(
                name="models",
                status="fail",
                detail=str(exc),
                fix="pip install -e '.[models]' or set DUNES_AGENTS__MODELS__<ROLE> to a local directory",
            )
    return DoctorCheck(name="models", status="ok", detail=", ".join(found))


def check_broker(settings: Settings) -> DoctorCheck:
    from dunes.orchestration.executors.celery_app import MIN_REDIS, ping_broker

    urls = {settings.executor.broker_url, settings.executor.result_backend}
    try:
        answers = [ping_broker(url) for url in sorted(urls)]
    except DunesError as exc:
        status: Status = "fail" if settings.executor.kind == "celery" else "warn"
        return DoctorCheck(
            name="broker",
            status=status,
            detail=f"{exc}" + ("" if status == "fail" else " (only the celery executor needs it)"),
            fix="start Redis (redis-server, or systemctl start redis) or set "
            "DUNES_EXECUTOR__BROKER_URL and DUNES_EXECUTOR__RESULT_BACKEND",
        )
    rtt = max(a[0] for a in answers)
    versions = sorted({a[1] for a in answers})
    detail = f"Redis {', '.join(versions)} answers in {rtt * 1000:.1f} ms"
    old = [v for v in versions if _version(v) < MIN_REDIS]
    if old:
        needed = ".".join(map(str, MIN_REDIS))
        return DoctorCheck(
            name="broker",
            status="fail" if settings.executor.kind == "celery" else "warn",
            detail=f"{detail}; the celery executor needs Redis {needed} or newer (BLMOVE)",
            fix=f"upgrade Redis to {needed} or newer",
        )
    return DoctorCheck(name="broker", status="ok", detail=detail)


def _version(text: str) -> tuple[int, ...]:
    """'7.0.15' -> (7, 0, 15); what cannot be read counts as new enough."""
    try:
        return tuple(int(part) for part in text.split(".")[:3])
    except ValueError:
        return (99,)


def check_workers(settings: Settings, *, broker_ok: bool, timeout: float) -> DoctorCheck:
    import socket

    from dunes.orchestration.executors.celery_app import inspect_workers, worker_cores

    if not broker_ok:
        return DoctorCheck(
            name="workers",
            status="warn",
            detail="not checked: the broker is unreachable",
            fix="fix the broker first",
        )
    try:
        workers = inspect_workers(settings, timeout=timeout)
    except DunesError as exc:
        return DoctorCheck(name="workers", status="fail", detail=str(exc), fix="check Redis")
    status: Status = "ok" if workers else ("fail" if settings.executor.kind == "celery" else "warn")
    if not workers:
        return DoctorCheck(
            name="workers",
            status=status,
            detail="no Celery worker answers",
            fix=f"start one per device: dunes worker --device cuda:0 (GPU queue "
            f"{device_queue(socket.gethostname(), 'cuda:0')}) or dunes worker --device cpu "
            f"({CPU_QUEUE})",
        )
    try:
        cores = worker_cores(settings)
    except DunesError:
        cores = {}
    detail = "; ".join(
        f"{node} -> {', '.join(queues)}" + (f" (cores {cores[node]})" if node in cores else "")
        for node, queues in sorted(workers.items())
    )
    return DoctorCheck(name="workers", status="ok", detail=detail)
