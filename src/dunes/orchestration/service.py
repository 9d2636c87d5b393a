"""The Orchestrator: the one service every interface calls to run work, whatever executes it."""

from __future__ import annotations

import collections
import logging
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dunes.config import Settings, get_settings
from dunes.constants import EXECUTORS, TERMINAL_STATUSES
from dunes.errors import BrokerUnavailableError, InvalidInputError, JobError, JobNotFoundError
from dunes.orchestration.executors.base import Executor
from dunes.orchestration.jobs import Job, JobEvent, JobRequest, JobResult
from dunes.orchestration.runner import split
from dunes.orchestration.store import chunk_id, open_job_store, to_event, to_job, to_result
from dunes.validation import parse_model

if TYPE_CHECKING:
    from dunes.beluga import GraphStore

log = logging.getLogger(__name__)


def make_executor(kind: str, settings: Settings) -> Executor:
    """The executor named ``kind``.

    Raises:
        InvalidInputError: ``kind`` is not one of the executors.
    """
    if kind == "local":
        from dunes.orchestration.executors.local import LocalExecutor

        return LocalExecutor(settings)
    if kind == "celery":
        from dunes.orchestration.executors.celery import CeleryExecutor

        return CeleryExecutor(settings)
    raise InvalidInputError(
        f"executor {kind!r} not known; accepted: {', '.join(EXECUTORS)}", field="executor"
    )


#: How many of the jobs submitted lately an Orchestrator remembers (see ``Orchestrator.result``).
RECENT_JOBS = 4096


class Orchestrator:
    """Submit jobs, follow them, fetch their results; records live in the BELUGA store."""

    def __init__(
        self,
        settings: Settings | None = None,
        executor: str | Executor | None = None,
        *,
        store: GraphStore | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self._store = store
        self._owns_store = store is None
        # Interfaces call from many threads (REST's thread pool); build shared parts once.
        self._lock = threading.Lock()
        #: Ids of the jobs submitted here lately, newest last (see ``result``).
        self._recent: collections.OrderedDict[str, None] = collections.OrderedDict()
        if executor is None or isinstance(executor, str):
            self._executor_kind = executor or self.settings.executor.kind
            self._executor: Executor | None = None
        else:
            self._executor_kind = executor.name
            self._executor = executor

    @property
    def store(self) -> GraphStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_job_store(self.settings)
        return self._store

    @property
    def executor(self) -> Executor:
        """The executor, created on first use (local workers start with the first job)."""
        if self._executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = make_executor(self._executor_kind, self.settings)
        return self._executor

    def __enter__(self) -> Orchestrator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the API ---------------------------------------------------------------------------------

    def submit(self, request: JobRequest | dict[str, Any]) -> str:
        """Record the job as queued, hand it to the executor, return its id.

        Raises:
            InvalidInputError: the request is malformed (names the field).
            BrokerUnavailableError: the broker cannot be reached; the job record says so.
        """
        return self.submit_many([request])[0]

    def submit_many(self, requests: Sequence[JobRequest | dict[str, Any]]) -> list[str]:
        """Submit several independent jobs at once; their ids, in order.

        Every request is checked first (none is submitted when one is malformed), all the job
        records are written in one transaction, then each job goes to the executor.

        Raises:
            InvalidInputError: a request is malformed (names which one and the field).
            BrokerUnavailableError: the broker cannot be reached; the records of the jobs not
                handed over say so.
        """
        parsed = [
            self._parse(request, index, len(requests)) for index, request in enumerate(requests)
        ]
        executor = self.executor
        ids = [uuid.uuid4().hex for _ in parsed]
        self.store.create_jobs(
            [
                (job_id, request.kind, request.model_dump(mode="json"))
                for job_id, request in zip(ids, parsed, strict=True)
            ]
        )
        for n, (job_id, request) in enumerate(zip(ids, parsed, strict=True)):
            try:
                if request.kind == "batch":
                    self._submit_batch(job_id, request, executor)
                else:
                    executor.dispatch(job_id, device=request.device or executor.route())
            except (BrokerUnavailableError, JobError) as exc:
                for unsent in ids[n:]:
                    self._fail(unsent, f"not submitted: {exc}")
                raise
            self._remember(job_id)
        return ids

    def _remember(self, job_id: str) -> None:
        with self._lock:
            self._recent[job_id] = None
            if len(self._recent) > RECENT_JOBS:
                self._recent.popitem(last=False)

    @staticmethod
    def _parse(request: JobRequest | dict[str, Any], index: int, count: int) -> JobRequest:
        if isinstance(request, JobRequest):
            return request
        try:
            return parse_model(JobRequest, request)
        except InvalidInputError as exc:
            if count == 1:
                raise
            field = f"requests[{index}]" + (f".{exc.field}" if exc.field else "")
            raise InvalidInputError(f"request {index}: {exc.message}", field=field) from exc

    def _submit_batch(self, job_id: str, request: JobRequest, executor: Executor) -> None:
        circuits = request.batch_circuits()
        slots = [request.device] if request.device else executor.slots()
        parts = split(circuits, len(slots))
        base = request.model_dump(mode="json", exclude={"circuits", "circuit", "sweep"})
        store = self.store
        for index, (offset, part) in enumerate(parts):
            store.create_job(
                job_id=chunk_id(job_id, index),
                kind="chunk",
                input={
                    "parent": job_id,
                    "index": index,
                    "offset": offset,
                    "chunks": len(parts),
                    "request": {**base, "circuits": part},
                },
            )
        store.add_job_event(
            job_id,
            step="split",
            progress=0.0,
            message=f"{len(circuits)} circuits in {len(parts)} chunk(s) over {', '.join(slots[: len(parts)])}",
        )
        for index, _ in enumerate(parts):
            executor.dispatch(chunk_id(job_id, index), device=slots[index % len(slots)])

    def _fail(self, job_id: str, message: str) -> None:
        self.store.finish_job(
            job_id, status="failed", step="submit", message=message, error=message
        )

    def status(self, job_id: str) -> Job:
        """Where the job stands.

        Raises:
            JobNotFoundError: no job has this id.
        """
        return to_job(self.store.get_job(job_id))

    def result(self, job_id: str, *, wait: bool = True, timeout: float | None = None) -> JobResult:
        """The job's result; with ``wait`` block until it is done (succeeded, failed, cancelled).

        A failed or cancelled job returns its ``JobResult`` with ``status`` and ``error`` set.

        Raises:
            JobNotFoundError: no job has this id.
            JobError: ``wait`` ran past ``timeout`` (default: executor.job_wait_timeout_s).
        """
        store = self.store
        # A job submitted here lately: its executor says when it ends (at once when it has), so
        # straight to the wait. Another: the status alone first (its record is not small).
        if not wait or (
            job_id not in self._recent and store.job_status(job_id) in TERMINAL_STATUSES
        ):
            return to_result(store.get_job(job_id))
        limit = self.settings.executor.job_wait_timeout_s if timeout is None else timeout
        deadline = time.monotonic() + limit
        executor = self.executor
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self.still_waiting(job_id, limit)
            done = executor.wait(job_id, min(remaining, 0.05))
            if isinstance(done, JobResult):
                return done
            record = store.get_job(job_id)
            if record.status in TERMINAL_STATUSES:
                return to_result(record)

    def why_waiting(self, job: Job) -> str | None:
        """Why a queued job is not starting (no worker for its queue), with the command that
        starts one; None when it is not queued or a worker will take it."""
        if job.status != "queued":
            return None
        device = job.input.get("device") if isinstance(job.input, dict) else None
        return self.executor.stalled(device if isinstance(device, str) else None)

    def still_waiting(self, job_id: str, waited_s: float) -> JobError:
        """The error for a job not done after ``waited_s``: where it stands (or why no worker
        takes it) and how to follow or cancel it; the job goes on."""
        job = self.status(job_id)
        return job.still_waiting(waited_s, self.why_waiting(job))

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job; a finished job is returned unchanged.

        Raises:
            JobNotFoundError: no job has this id.
        """
        store = self.store
        record = store.get_job(job_id)
        if record.status in TERMINAL_STATUSES:
            return to_job(record)
        try:  # the status and its event in one transaction; the job keeps its progress
            store.advance_job(
                job_id,
                step="cancelled",
                message="cancelled on request",
                status="cancelled",
                error="cancelled on request",
                progress=record.progress,
            )
        except JobError:  # it ended meanwhile: that end stands
            return to_job(store.get_job(job_id))
        targets = [job_id]
        if record.kind == "batch":
            index = 0
            while True:
                try:
                    child = store.get_job(chunk_id(job_id, index))
                except JobNotFoundError:
                    break
                if child.status not in TERMINAL_STATUSES:
                    store.update_job(child.id, status="cancelled", error="batch cancelled")
                    targets.append(child.id)
                index += 1
        for target in targets:
            try:
                self.executor.cancel(target)
            except JobError as exc:
                log.warning("cancel of %s reached the store but not the workers: %s", target, exc)
        return to_job(store.get_job(job_id))

    def events(
        self, job_id: str, *, after_seq: int = 0, follow: bool = False, timeout: float | None = None
    ) -> Iterator[JobEvent]:
        """The job's progress events after ``after_seq``; with ``follow`` until the job is done.

        Raises:
            JobNotFoundError: no job has this id.
        """
        store = self.store
        store.get_job(job_id)
        seq = after_seq
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.01
        while True:
            batch = store.job_events(job_id, after_seq=seq)
            for record in batch:
                seq = record.seq
                yield to_event(record)
            if not follow:
                return
            if batch:
                delay = 0.01
                continue
            if store.get_job(job_id).status in TERMINAL_STATUSES:
                for record in store.job_events(job_id, after_seq=seq):
                    seq = record.seq
                    yield to_event(record)
                return
            if deadline is not None and time.monotonic() > deadline:
                return
            if self._executor is not None:
                self._executor.wait(job_id, delay)
            else:
                time.sleep(delay)
            delay = min(delay * 1.5, 0.2)

    def list(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Job]:
        """Jobs, newest first, by status, kind and creation time (chunks of batches left out)."""
        records = self.store.list_jobs(
            status=status, kind=kind, since=since, limit=limit, offset=offset
        )
        return [to_job(r) for r in records if r.kind != "chunk"]

    def close(self) -> None:
        """Stop the executor's workers; close the store if this Orchestrator opened it."""
        with self._lock:
            executor, self._executor = self._executor, None
            store = self._store if self._owns_store else None
            if store is not None:
                self._store = None
        if executor is not None:
            executor.close()
        if store is not None:
            store.close()
