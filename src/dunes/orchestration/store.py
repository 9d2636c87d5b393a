"""The seam to the BELUGA store: open it, and turn its job records into orchestration models."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dunes.config import Settings
from dunes.orchestration.jobs import Job, JobEvent, JobResult

if TYPE_CHECKING:
    from dunes.beluga import GraphStore

#: A succeeded job's result goes with the word that it is done up to this size (JSON), so that
#: whoever waits need not read it back from the store; larger ones are read from the store.
RESULT_NOTE_MAX_BYTES = 256 * 1024


def open_job_store(settings: Settings) -> GraphStore:
    """The BELUGA store for ``settings`` (migrations applied)."""
    from dunes.beluga import open_store

    return open_store(settings)


def chunk_id(parent: str, index: int) -> str:
    """Id of the ``index``-th chunk of batch ``parent``."""
    return f"{parent}-c{index}"


def to_job(record: Any) -> Job:
    """A ``Job`` from the store's ``JobRecord``."""
    return Job(
        job_id=record.id,
        kind=record.kind,
        status=record.status,
        progress=record.progress or 0.0,
        step=record.step,
        error=record.error,
        device=record.device,
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        input=dict(record.input or {}),
    )


def to_event(record: Any) -> JobEvent:
    """A ``JobEvent`` from the store's ``JobEventRecord``."""
    return JobEvent(
        job_id=record.job_id,
        seq=record.seq,
        step=record.step,
        progress=record.progress,
        message=record.message or "",
        status=record.status,
        at=record.at,
    )


def to_result(record: Any) -> JobResult:
    """The ``JobResult`` of a record: the stored result when there is one, else its status."""
    if record.result:
        return stored_result(record.id, record.status, record.result, record.error)
    return JobResult(
        job_id=record.id,
        status=record.status,
        kind=record.kind,
        error=record.error,
        device=record.device,
    )


def stored_result(
    job_id: str, status: str, result: Mapping[str, Any], error: str | None = None
) -> JobResult:
    """The ``JobResult`` of a job's stored ``result`` (what ``finish_job`` wrote)."""
    data = {**result, "job_id": job_id, "status": status}
    if error:
        data["error"] = error
    return JobResult.model_validate(data)


def result_note(result: Mapping[str, Any] | None) -> str | None:
    """A succeeded job's stored result as JSON for its waiters, or None when it is too large."""
    if result is None:
        return None
    note = json.dumps({"status": "succeeded", "result": result})
    return note if len(note) <= RESULT_NOTE_MAX_BYTES else None


def read_result_note(job_id: str, note: str | bytes) -> JobResult | None:
    """The ``JobResult`` a note carries; None when it is not a note (the store has the record)."""
    try:
        data = json.loads(note)
        return stored_result(job_id, data["status"], data["result"])
    except (ValueError, KeyError, TypeError):
        return None
