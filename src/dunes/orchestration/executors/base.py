"""What the Orchestrator needs from an executor: deliver job ids to device workers, say how
its workers are, and enforce the job time limits (``executor.task_*_time_limit_s``)."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict

from dunes.orchestration.health import HealthCheck
from dunes.orchestration.jobs import JobResult


class WorkerInfo(BaseModel):
    """One worker as its executor sees it."""

    model_config = ConfigDict(frozen=True)

    name: str
    device: str
    queue: str
    host: str
    pid: int | None = None
    alive: bool = True
    cpus: str | None = None
    job: str | None = None
    jobs_run: int = 0
    heartbeat_age_s: float | None = None


class Executor(Protocol):
    """Runs jobs that already have a record in the store; results go back into the store."""

    name: str

    def slots(self) -> list[str]:
        """Devices that can run work now, one entry per worker (batches are split over these)."""
        ...

    def route(self) -> str:
        """The device the next single job goes to."""
        ...

    def dispatch(self, job_id: str, *, device: str) -> None:
        """Hand job ``job_id`` to a worker of ``device``.

        Raises:
            BrokerUnavailableError: the job could not be handed over.
        """
        ...

    def cancel(self, job_id: str) -> None:
        """Stop ``job_id`` if a worker has it (the store already says 'cancelled')."""
        ...

    def wait(self, job_id: str, timeout: float) -> bool | JobResult:
        """Block up to ``timeout`` s until ``job_id`` may have finished; a hint, not a promise,
        unless it is the job's result (the worker handed over what it stored)."""
        ...

    def workers(self) -> list[WorkerInfo]:
        """The workers there are now (none yet is an answer: local ones start with a job)."""
        ...

    def health(self, *, timeout: float = 1.0) -> list[HealthCheck]:
        """What this executor needs to work (a broker, live workers), each with a fix."""
        ...

    def stalled(self, device: str | None) -> str | None:
        """Why a job queued for ``device`` (None: any) would wait forever, with what to do;
        None when a worker will take it."""
        ...

    def close(self) -> None:
        """Release workers and connections."""
        ...
