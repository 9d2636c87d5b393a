"""A running job's steps, written to the store in batches a few milliseconds behind the work.

Every pipeline step is recorded (one event each, and the job's step and progress), but a small
job runs all its steps in a few milliseconds, and a transaction per step would cost as much as the
work. So a step waits up to ``delay_s`` for the steps after it; a background thread then writes
all of them in one transaction, and learns from the job's status that comes back whether it was
cancelled meanwhile (the next ``report`` raises). When the job ends first, its end takes the
steps not written yet into its own transaction (``finish``), so nothing is lost or reordered.
A watcher sees each step at most ``delay_s`` late.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dunes.beluga import StepEvent
from dunes.errors import JobCancelledError, JobNotFoundError

if TYPE_CHECKING:
    from dunes.beluga import GraphStore

log = logging.getLogger(__name__)

RETRY_AFTER_S = 0.5


class ProgressJournal:
    """The steps reported by the jobs of one worker process, on their way to the store."""

    def __init__(self, store: GraphStore, *, delay_s: float) -> None:
        self._store = store
        self.delay_s = delay_s
        self._changed = threading.Condition()
        #: job id -> (monotonic time its oldest unwritten step was reported, the steps)
        self._pending: dict[str, tuple[float, list[StepEvent]]] = {}
        self._writing: set[str] = set()
        self._cancelled: set[str] = set()
        self._thread: threading.Thread | None = None
        #: Transactions written by the thread, and the steps they carried.
        self.writes = 0
        self.steps_written = 0

    def report(self, job_id: str, step: str, progress: float, message: str) -> None:
        """Queue a step of ``job_id``.

        Raises:
            JobCancelledError: a write of an earlier step found the job cancelled.
        """
        event = StepEvent(step, progress, message, datetime.now(UTC))
        with self._changed:
            if job_id in self._cancelled:
                raise JobCancelledError(f"job {job_id} was cancelled during step {step}")
            idle = not self._pending
            since, steps = self._pending.get(job_id, (time.monotonic(), []))
            steps.append(event)
            self._pending[job_id] = (since, steps)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._write_forever, name="dunes-progress", daemon=True
                )
                self._thread.start()
            elif idle:
                # Only a thread with nothing pending sleeps without a deadline; otherwise it
                # wakes at the oldest step's, which a newer step does not move.
                self._changed.notify_all()

    def finish(self, job_id: str) -> list[StepEvent]:
        """The steps of ``job_id`` not written yet, once no write of its steps is in flight.

        The caller writes them with the job's end (``finish_job(earlier=...)``).
        """
        with self._changed:
            while job_id in self._writing:
                self._changed.wait()
            self._cancelled.discard(job_id)
            return self._pending.pop(job_id, (0.0, []))[1]

    def _due(self) -> tuple[str, list[StepEvent]] | None:
        """The job whose oldest step has waited ``delay_s``, taken out; else None (and wait)."""
        now = time.monotonic()
        oldest = min(self._pending.items(), key=lambda item: item[1][0], default=None)
        if oldest is None:
            self._changed.wait()
            return None
        job_id, (since, steps) = oldest
        if now - since < self.delay_s:
            self._changed.wait(self.delay_s - (now - since))
            return None
        del self._pending[job_id]
        self._writing.add(job_id)
        return job_id, steps

    def _write_forever(self) -> None:
        while True:
            with self._changed:
                due = self._due()
            if due is None:
                continue
            job_id, steps = due
            cancelled = False
            try:
                cancelled = self._store.record_steps(job_id, steps) == "cancelled"
                self.writes += 1
                self.steps_written += len(steps)
            except JobNotFoundError:
                log.warning("job %s is gone from the store; its progress is dropped", job_id)
            except Exception:
                # Progress is worth a retry but never a job: the steps go back in front, for the
                # next write or for the job's end, whichever comes first.
                log.exception("writing the progress of job %s failed; retrying", job_id)
                with self._changed:
                    _, later = self._pending.get(job_id, (0.0, []))
                    self._pending[job_id] = (time.monotonic(), steps + later)
                    self._writing.discard(job_id)
                    self._changed.notify_all()
                time.sleep(RETRY_AFTER_S)
                continue
            with self._changed:
                self._writing.discard(job_id)
                if cancelled:
                    self._cancelled.add(job_id)
                self._changed.notify_all()
