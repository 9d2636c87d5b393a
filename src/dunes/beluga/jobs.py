"""``JobStore``: the job records and their events, a mixin of ``GraphStore``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Connection, RowMapping

from dunes.beluga._sql import _check_fraction, _check_id, _check_page, _check_status, _now
from dunes.beluga.canonical import canonical_json, jsonable
from dunes.beluga.models import JobEventRecord, JobRecord, StepEvent
from dunes.beluga.schema import ID_LENGTH, job_events, jobs
from dunes.constants import TERMINAL_STATUSES
from dunes.errors import InvalidInputError, JobCancelledError, JobError, JobNotFoundError

if TYPE_CHECKING:
    from dunes.beluga._sql import _Statements
    from dunes.beluga.batch import GraphBatch

T = TypeVar("T")


def _job(row: RowMapping) -> JobRecord:
    return JobRecord.model_validate(dict(row))


def _event(row: RowMapping) -> JobEventRecord:
    return JobEventRecord(
        job_id=row["job_id"],
        seq=row["seq"],
        at=row["at"],
        step=row["step"],
        progress=row["progress"],
        message=row["message"],
        status=row["status"],
    )


class _NotStarted(Exception):
    """A job that is over or claimed already: its start is rolled back."""


class JobStore:
    """The job records: create, change, read and claim jobs, with their events.

    A mixin of :class:`~dunes.beluga.store.GraphStore`, which supplies ``_write``, ``_read`` and
    the prebuilt statements ``_sql``.
    """

    if TYPE_CHECKING:
        _sql: _Statements

        def _write(self, fn: Callable[[Connection], T], what: str) -> T: ...

        def _read(self, fn: Callable[[Connection], T], what: str) -> T: ...

        def _apply_batch(self, conn: Connection, batch: GraphBatch) -> None: ...

    def create_job(self, *, job_id: str, kind: str, input: Mapping[str, Any]) -> JobRecord:
        """Record a new job as ``queued`` (and as a ``job`` activity in the graph).

        Creating the same job again (same kind and input) returns the stored record.

        Raises:
            JobError: the id is taken by a different job.
        """
        return self.create_jobs([(job_id, kind, input)])[0]

    def create_jobs(self, items: Sequence[tuple[str, str, Mapping[str, Any]]]) -> list[JobRecord]:
        """Record several new jobs, ``(job_id, kind, input)`` each, in one transaction: all of
        them or none (see :meth:`create_job`).

        Raises:
            JobError: an id is taken by a different job.
        """
        rows = []
        for job_id, kind, input in items:
            _check_id(job_id, "job_id")
            if not isinstance(kind, str) or not kind or len(kind) > 64:
                raise InvalidInputError(
                    f"job kind must be a non-empty string of at most 64 characters, got {kind!r}",
                    field="kind",
                )
            rows.append({"id": job_id, "kind": kind, "input": jsonable(dict(input))})

        def work(conn: Connection) -> list[JobRecord]:
            now = _now()
            return [self._insert_job(conn, row, now) for row in rows]

        return self._write(work, "creating jobs" if len(rows) > 1 else "creating a job")

    def _insert_job(self, conn: Connection, job: dict[str, Any], now: datetime) -> JobRecord:
        row = {**job, "status": "queued", "progress": 0.0, "created_at": now, "updated_at": now}
        if conn.execute(self._sql.insert_job, row).first() is None:
            record = _job(conn.execute(select(jobs).where(jobs.c.id == row["id"])).mappings().one())
            if record.kind != row["kind"] or canonical_json(record.input) != canonical_json(
                row["input"]
            ):
                raise JobError(
                    f"job {row['id']} already exists with another kind or input", field="job_id"
                )
            return record
        conn.execute(
            self._sql.upsert_job_node,
            {
                "id": row["id"],
                "category": "activity",
                "kind": "job",
                "label": row["kind"],
                "data": {"kind": row["kind"], "input": row["input"]},
                "created_at": now,
            },
        )
        # What was just written, without reading it back (defaults as the schema sets them).
        return JobRecord.model_validate(row)

    def update_job(
        self,
        job_id: str,
        *,
        status: str | None = None,
        progress: float | None = None,
        step: str | None = None,
        error: str | None = None,
        result: Any = None,
        result_ref: str | None = None,
        device: str | None = None,
    ) -> JobRecord:
        """Change a job; ``running`` sets ``started_at``, a final status sets ``finished_at``.

        Raises:
            JobNotFoundError: no such job.
            JobCancelledError / JobError: the job already ended with another status.
        """
        changes = _job_changes(status, progress, step, error, result, result_ref, device)
        return self._write(lambda conn: self._update_job(conn, job_id, changes), "updating a job")

    def advance_job(
        self,
        job_id: str,
        *,
        step: str,
        message: str,
        progress: float | None = None,
        status: str | None = None,
        error: str | None = None,
        result: Any = None,
        result_ref: str | None = None,
        device: str | None = None,
    ) -> JobRecord:
        """Change a job and append the event that says so, in one transaction.

        The job gets ``step`` and whatever else is given (as :meth:`update_job`); the event gets
        ``step``, ``message``, ``status`` and ``progress`` -- when no progress is given, 1.0 for a
        final status and the job's progress otherwise. Returns the updated record, so a caller
        sees a cancel that happened meanwhile without another read.

        Raises:
            JobNotFoundError: no such job.
            JobCancelledError / JobError: the job already ended with another status.
        """
        changes = _job_changes(status, progress, step, error, result, result_ref, device)

        def work(conn: Connection) -> JobRecord:
            if status is None:
                # No status change to check: one UPDATE ... RETURNING takes the row lock (which
                # orders the event's seq) and gives back the record.
                row = (
                    conn.execute(
                        jobs.update()
                        .where(jobs.c.id == job_id)
                        .values(**changes, updated_at=_now())
                        .returning(*jobs.c)
                    )
                    .mappings()
                    .first()
                )
                if row is None:
                    raise JobNotFoundError(f"no job {job_id}", field="job_id")
                record = _job(row)
            else:
                record = self._update_job(conn, job_id, changes)
            if progress is not None:
                fraction = float(progress)
            elif status in TERMINAL_STATUSES:
                fraction = 1.0
            else:
                fraction = record.progress
            self._append_events(
                conn, job_id, [StepEvent(step, fraction, message, _now())], last_status=status
            )
            return record

        return self._write(work, "advancing a job")

    def start_job(
        self, job_id: str, *, claim: str, worker: str, device: str, message: str
    ) -> JobRecord | None:
        """Claim a queued job and mark it running with its 'start' event, in one transaction.

        ``claim`` is the idempotency key (see :meth:`claim_job`). Returns the running record, or
        None when the job already ended or the key was claimed before (a redelivered message).

        Raises:
            JobNotFoundError: no such job.
        """
        _check_id(claim, "claim")
        _check_id(worker, "worker")
        device = str(device)

        def work(conn: Connection) -> JobRecord:
            now = _now()
            row = (
                conn.execute(
                    self._sql.start,
                    {"b_job_id": job_id, "b_device": device, "b_worker": worker, "b_now": now},
                )
                .mappings()
                .first()
            )
            if row is None:  # over already (or unknown: that raises)
                self._status(conn, job_id)
                raise _NotStarted
            won = conn.execute(
                self._sql.insert_claim, {"job_id": claim, "worker": worker, "claimed_at": now}
            ).first()
            if won is None:  # claimed before: roll the start back
                raise _NotStarted
            self._append_events(
                conn, job_id, [StepEvent("start", 0.0, message, now)], last_status="running"
            )
            return _job(row)

        try:
            return self._write(work, "starting a job")
        except _NotStarted:
            return None

    def record_steps(self, job_id: str, steps: Sequence[StepEvent]) -> str:
        """Steps of a running job, in one transaction: the job takes the last one's step and
        progress, and each step becomes an event, in order. Returns the job's status, so the
        caller sees a cancel that happened meanwhile; a job that is over is left as it is.

        The hot path of every job: prebuilt statements, nothing read back but the status.

        Raises:
            JobNotFoundError: no such job.
        """
        if not steps:
            return self.job_status(job_id)
        last = steps[-1]
        progress = _check_fraction(last.progress, "progress")

        def work(conn: Connection) -> str:
            status = conn.execute(
                self._sql.set_step,
                {
                    "b_job_id": job_id,
                    "b_step": str(last.step)[:ID_LENGTH],
                    "b_progress": progress,
                    "b_now": last.at,
                },
            ).scalar()
            if status is None:  # over already (or unknown): a late step changes nothing
                return self._status(conn, job_id)
            self._append_events(conn, job_id, steps)
            return str(status)

        return self._write(work, "recording job steps")

    def finish_job(
        self,
        job_id: str,
        *,
        status: str,
        message: str,
        step: str | None = None,
        error: str | None = None,
        result: Any = None,
        device: str | None = None,
        earlier: Sequence[StepEvent] = (),
        graph: Sequence[GraphBatch] = (),
    ) -> None:
        """End a job once: its final status, result or error, the ``earlier`` steps not written
        yet, the event that says how it ended and the job's ``graph`` record (prepared batches),
        in one transaction: a job that succeeded is in the graph, and one that did not, is not.

        Raises:
            JobNotFoundError: no such job.
            JobCancelledError / JobError: the job already ended (cancelled / otherwise).
        """
        _check_status(status)
        if status not in TERMINAL_STATUSES:
            raise InvalidInputError(
                f"finish_job needs a final status ({', '.join(sorted(TERMINAL_STATUSES))}), "
                f"got {status!r}",
                field="status",
            )
        payload = None
        if result is not None:
            payload = jsonable(result)
            payload = payload if isinstance(payload, dict) else {"value": payload}
        step = str(step or status)[:ID_LENGTH]

        def work(conn: Connection) -> None:
            now = _now()
            ended = conn.execute(
                self._sql.finish,
                {
                    "b_job_id": job_id,
                    "b_status": status,
                    "b_step": step,
                    "b_error": None if error is None else str(error),
                    "b_result": payload,
                    "b_device": device,
                    "b_now": now,
                },
            ).first()
            if ended is None:
                current = self._status(conn, job_id)
                error_cls = JobCancelledError if current == "cancelled" else JobError
                raise error_cls(f"job {job_id} is already {current}; it cannot become {status}")
            for batch in graph:
                self._apply_batch(conn, batch)
            self._append_events(
                conn, job_id, [*earlier, StepEvent(step, 1.0, message, now)], last_status=status
            )

        self._write(work, "finishing a job")

    @staticmethod
    def _lock_job_row(conn: Connection, job_id: str) -> RowMapping:
        row = (
            conn.execute(select(jobs).where(jobs.c.id == job_id).with_for_update())
            .mappings()
            .first()
        )
        if row is None:
            raise JobNotFoundError(f"no job {job_id}", field="job_id")
        return row

    def _update_job(
        self,
        conn: Connection,
        job_id: str,
        changes: dict[str, Any],
        *,
        row: RowMapping | None = None,
    ) -> JobRecord:
        if row is None:
            row = self._lock_job_row(conn, job_id)
        current = row["status"]
        new = changes.get("status")
        if current in TERMINAL_STATUSES and new is not None and new != current:
            error_cls = JobCancelledError if current == "cancelled" else JobError
            raise error_cls(f"job {job_id} is already {current}; it cannot become {new}")
        now = _now()
        values = {**changes, "updated_at": now}
        if new == "running" and row["started_at"] is None:
            values["started_at"] = now
        if new in TERMINAL_STATUSES and row["finished_at"] is None:
            values["finished_at"] = now
            if new == "succeeded" and "progress" not in changes:
                values["progress"] = 1.0
        conn.execute(jobs.update().where(jobs.c.id == job_id).values(**values))
        return _job({**row, **values})  # type: ignore[arg-type]

    def _append_events(
        self,
        conn: Connection,
        job_id: str,
        events: Sequence[StepEvent],
        *,
        last_status: str | None = None,
    ) -> int:
        """Append events (at least one), the last with ``last_status``; returns the last one's
        seq. One statement for one event (the next seq computed inside it), two for several (the
        next seq, then one insert of all). The caller holds the job's row lock, which orders seq.
        """
        if len(events) == 1:
            event = events[0]
            return int(
                conn.execute(
                    self._sql.append_event,
                    {
                        "b_job_id": job_id,
                        "b_at": event.at,
                        "b_step": str(event.step)[:ID_LENGTH],
                        "b_progress": event.progress,
                        "b_message": str(event.message),
                        "b_status": last_status,
                    },
                ).scalar_one()
            )
        seq = int(conn.execute(self._sql.max_seq, {"b_job_id": job_id}).scalar_one())
        conn.execute(
            self._sql.insert_event,
            [
                {
                    "job_id": job_id,
                    "seq": seq + n,
                    "at": event.at,
                    "step": str(event.step)[:ID_LENGTH],
                    "progress": event.progress,
                    "message": str(event.message),
                    "status": last_status if n == len(events) else None,
                }
                for n, event in enumerate(events, start=1)
            ],
        )
        return seq + len(events)

    def job_status(self, job_id: str) -> str:
        """A job's status alone (no input or result to decode).

        Raises:
            JobNotFoundError: no such job.
        """

        return self._read(lambda conn: self._status(conn, job_id), "reading a job's status")

    def _status(self, conn: Connection, job_id: str) -> str:
        status = conn.execute(self._sql.job_status, {"b_job_id": job_id}).scalar()
        if status is None:
            raise JobNotFoundError(f"no job {job_id}", field="job_id")
        return str(status)

    def resolve_job(self, id_or_prefix: str) -> str:
        """The full id of a job given by its id or a unique prefix of one (like git).

        Raises:
            JobNotFoundError: no job id starts with it.
            InvalidInputError: several do (the message lists some).
        """
        if not id_or_prefix or len(id_or_prefix) > 255:
            raise JobNotFoundError(f"no job {id_or_prefix!r}", field="job_id")

        def work(conn: Connection) -> str:
            if conn.execute(select(jobs.c.id).where(jobs.c.id == id_or_prefix)).first():
                return id_or_prefix
            escaped = id_or_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            rows = conn.execute(
                select(jobs.c.id)
                .where(jobs.c.id.like(escaped + "%", escape="\\"), jobs.c.kind != "chunk")
                .limit(20)
            ).all()
            matches = [row.id for row in rows if row.id.startswith(id_or_prefix)]
            if not matches:
                raise JobNotFoundError(
                    f"no job with id or id prefix {id_or_prefix!r} (dunes jobs list shows them)",
                    field="job_id",
                )
            if len(matches) > 1:
                shown = ", ".join(m[:12] for m in matches[:5])
                raise InvalidInputError(
                    f"job id prefix {id_or_prefix!r} is ambiguous: {len(matches)} jobs match "
                    f"({shown}); give more characters",
                    field="job_id",
                )
            return str(matches[0])

        return self._read(work, "looking up a job")

    def get_job(self, job_id: str) -> JobRecord:
        """Raises: JobNotFoundError: no such job."""

        def work(conn: Connection) -> JobRecord:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
            if row is None:
                raise JobNotFoundError(f"no job {job_id}", field="job_id")
            return _job(row)

        return self._read(work, "reading a job")

    def list_jobs(
        self,
        *,
        status: str | Iterable[str] | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[JobRecord]:
        """Jobs, newest first, filtered by status (one or several), kind and creation time."""
        _check_page(limit, offset)
        query = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            query = query.where(jobs.c.status.in_([_check_status(s) for s in wanted]))
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        if since is not None:
            if since.tzinfo is None:
                since = since.replace(tzinfo=UTC)
            query = query.where(jobs.c.created_at >= since)
        query = query.limit(limit).offset(offset)
        return self._read(
            lambda conn: [_job(r) for r in conn.execute(query).mappings()], "listing jobs"
        )

    def add_job_event(
        self,
        job_id: str,
        *,
        step: str,
        progress: float,
        message: str,
        status: str | None = None,
    ) -> JobEventRecord:
        """Append an event to a job; ``seq`` is 1, 2, 3, ... per job, also across processes.

        Raises:
            JobNotFoundError: no such job.
        """
        fraction = _check_fraction(progress, "progress")
        if status is not None:
            _check_status(status)

        def work(conn: Connection) -> JobEventRecord:
            if conn.execute(self._sql.lock_job, {"b_job_id": job_id}).first() is None:
                raise JobNotFoundError(f"no job {job_id}", field="job_id")
            event = StepEvent(str(step)[:ID_LENGTH], fraction, str(message), _now())
            seq = self._append_events(conn, job_id, [event], last_status=status)
            return JobEventRecord(job_id=job_id, seq=seq, status=status, **event._asdict())

        return self._write(work, "adding a job event")

    def job_events(self, job_id: str, *, after_seq: int = 0) -> list[JobEventRecord]:
        """A job's events with ``seq > after_seq``, in order.

        Raises:
            JobNotFoundError: no such job.
        """

        def work(conn: Connection) -> list[JobEventRecord]:
            if conn.execute(select(jobs.c.id).where(jobs.c.id == job_id)).first() is None:
                raise JobNotFoundError(f"no job {job_id}", field="job_id")
            query = (
                select(job_events)
                .where(job_events.c.job_id == job_id, job_events.c.seq > after_seq)
                .order_by(job_events.c.seq)
            )
            return [_event(r) for r in conn.execute(query).mappings()]

        return self._read(work, "reading job events")

    def claim_job(self, job_id: str, *, worker: str) -> bool:
        """True for exactly one caller per job id, whatever process or host it runs on.

        A redelivered task asks again and gets False, so it does not run into the graph twice.
        """
        _check_id(job_id, "job_id")
        _check_id(worker, "worker")

        def work(conn: Connection) -> bool:
            now = _now()
            won = conn.execute(
                self._sql.insert_claim, {"job_id": job_id, "worker": worker, "claimed_at": now}
            ).first()
            if won is not None:
                conn.execute(
                    self._sql.claim_worker, {"b_job_id": job_id, "b_worker": worker, "b_now": now}
                )
            return won is not None

        return self._write(work, "claiming a job")


def _job_changes(
    status: str | None,
    progress: float | None,
    step: str | None,
    error: str | None,
    result: Any,
    result_ref: str | None,
    device: str | None,
) -> dict[str, Any]:
    """The checked column values of a job update (only what is given)."""
    changes: dict[str, Any] = {}
    if status is not None:
        changes["status"] = _check_status(status)
    if progress is not None:
        changes["progress"] = _check_fraction(progress, "progress")
    if step is not None:
        changes["step"] = str(step)[:ID_LENGTH]
    if error is not None:
        changes["error"] = str(error)
    if result is not None:
        payload = jsonable(result)
        changes["result"] = payload if isinstance(payload, dict) else {"value": payload}
    if result_ref is not None:
        changes["result_ref"] = str(result_ref)
    if device is not None:
        changes["device"] = str(device)
    return changes
