"""Whether dunes can work: the doctor's full list, and the readiness a server answers with."""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import BaseModel, ConfigDict

from dunes.errors import DunesError
from dunes.orchestration.executors.base import WorkerInfo
from dunes.orchestration.health import (
    HealthCheck,
    check_devices,
    check_models,
    check_sandbox,
    check_store,
)
from dunes.orchestration.service import make_executor
from dunes.services.context import Services
from dunes.services.threads import io_bound

log = logging.getLogger(__name__)


class Readiness(BaseModel):
    """Ready when no check fails: the store, and what the executor in use needs."""

    model_config = ConfigDict(frozen=True)

    status: Literal["ready", "not ready"]
    executor: str
    checks: list[HealthCheck]

    @property
    def ready(self) -> bool:
        return self.status == "ready"


@io_bound
def readiness(*, services: Services, timeout: float = 1.0) -> Readiness:
    """The store (a read) and the executor's own checks; an error becomes a failed check.

    Anyone who reaches a probe reads it: a check that is not ok keeps its name and status but
    not its detail (URLs, hosts); ``dunes doctor`` on the server gives the details.
    """
    name = services.executor_kind
    try:
        checks = [check_store(services.settings, services.store)]
    except DunesError as exc:
        checks = [HealthCheck(name="store", status="fail", detail=str(exc))]
    try:
        executor = services.orchestrator.executor
        name = executor.name
        checks += executor.health(timeout=timeout)
    except Exception as exc:  # a probe answers, whatever broke
        log.warning("readiness: the executor could not be checked", exc_info=True)
        checks.append(
            HealthCheck(name="executor", status="fail", detail=f"{type(exc).__name__}: {exc}")
        )
    ready = all(c.status != "fail" for c in checks)
    public = [
        c
        if c.status == "ok"
        else HealthCheck(name=c.name, status=c.status, detail="see dunes doctor on the server")
        for c in checks
    ]
    return Readiness(status="ready" if ready else "not ready", executor=name, checks=public)


def doctor(*, services: Services, timeout: float = 1.0) -> list[HealthCheck]:
    """Every check, in the order a person goes through them, each failure with its fix."""
    settings = services.settings
    checks = [check_store(settings)]
    checks += check_devices(settings)
    checks.append(check_models(settings))
    checks.append(check_sandbox(settings))
    if services.has_orchestrator:
        return checks + services.orchestrator.executor.health(timeout=timeout)
    # The executor alone: the doctor answers even when the store is what is broken.
    executor = make_executor(services.executor_kind, settings)
    try:
        return checks + executor.health(timeout=timeout)
    finally:
        executor.close()


class WorkerList(BaseModel):
    """The workers of the executor in use (local ones start with the first job)."""

    executor: str
    workers: list[WorkerInfo]
    note: str | None = None


@io_bound
def workers(*, services: Services) -> WorkerList:
    """The workers of the executor in use, and a note when there are none yet."""
    found = services.orchestrator.executor.workers()
    note = None if found else "no worker yet: local workers start with the first job"
    return WorkerList(executor=services.executor_kind, workers=found, note=note)
