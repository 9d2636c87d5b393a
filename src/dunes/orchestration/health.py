"""Health checks: the troubleshooting list (``dunes doctor``, ``/readyz``), each with its fix.

The store, the devices and the models are checked here; each executor checks what it needs
itself (``Executor.health``).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from dunes.config import Settings
from dunes.constants import ROLES
from dunes.errors import DunesError

Status = Literal["ok", "warn", "fail"]


class HealthCheck(BaseModel):
    """One line of the doctor's report."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: Status
    detail: str
    fix: str | None = None


def check_store(settings: Settings, store: Any = None) -> HealthCheck:
    """The store answers: a read through ``store`` when given (a probe every few seconds), else
    a write through a store opened for it (what a worker needs)."""
    from dunes.orchestration.store import open_job_store

    url = settings.database_url
    try:
        if store is not None:
            store.list_jobs(limit=1)
            return HealthCheck(name="store", status="ok", detail=f"{store.dialect} reachable")
        opened = open_job_store(settings)
        try:
            opened.claim_job(f"doctor-{uuid.uuid4().hex}", worker="doctor")
        finally:
            opened.close()
    except DunesError as exc:
        return HealthCheck(
            name="store",
            status="fail",
            detail=f"{url}: {exc}",
            fix="check DUNES_STORE__URL (PostgreSQL running? SQLite directory writable?)",
        )
    return HealthCheck(name="store", status="ok", detail=f"{url} is writable")


def check_devices(settings: Settings) -> list[HealthCheck]:
    from dunes.devices import discover
    from dunes.quantum.backend import aer_info
    from dunes.quantum.memory import format_bytes

    inventory = discover()
    aer = aer_info()
    out = []
    if inventory.gpus and not aer.gpu_usable:
        out.append(
            HealthCheck(
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
            HealthCheck(
                name="aer",
                status="ok",
                detail=f"{aer.distribution} {aer.version}, devices {', '.join(aer.devices)}: runs on {where}",
            )
        )
    for device in inventory.devices:
        share = device.memory_free / device.memory_total if device.memory_total else 0.0
        status: Status = "ok" if share >= 0.1 else "warn"
        out.append(
            HealthCheck(
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


def check_models(settings: Settings) -> HealthCheck:
    from dunes.agents.models import resolve_model

    found = []
    for role in ROLES:
        try:
            found.append(f"{role}={resolve_model(role, settings.agents).name}")
        except DunesError as exc:
            return HealthCheck(
                name="models",
                status="fail",
                detail=str(exc),
                fix="pip install -e '.[models]' or set DUNES_AGENTS__MODELS__<ROLE> to a local directory",
            )
    return HealthCheck(name="models", status="ok", detail=", ".join(found))


def check_sandbox(settings: Settings) -> HealthCheck:
    """Whether MAML process blocks get a network namespace of their own here."""
    from dunes.maml.sandbox import network_isolation

    if settings.maml.sandbox_network:
        detail = "MAML blocks may use the network (maml.sandbox_network is on)"
        return HealthCheck(name="sandbox", status="ok", detail=detail)
    if network_isolation():
        detail = "MAML blocks run without network (own network namespace) and with limits"
        return HealthCheck(name="sandbox", status="ok", detail=detail)
    return HealthCheck(
        name="sandbox",
        status="warn",
        detail="MAML blocks run with limits but with the host's network: this OS refuses "
        "unprivileged user namespaces",
        fix="sysctl kernel.unprivileged_userns_clone=1 (or run the server in a container)",
    )
