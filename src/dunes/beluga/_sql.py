"""What the graph and the job store share: the prebuilt statements, dialect INSERT, checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, bindparam, case, func, select

from dunes.beluga.schema import ID_LENGTH, UTCDateTime, edges, job_claims, job_events, jobs, nodes
from dunes.constants import JOB_STATUSES, TERMINAL_STATUSES
from dunes.errors import InvalidInputError


def _now() -> datetime:
    return datetime.now(UTC)


def _check_id(value: str, what: str = "id") -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > ID_LENGTH:
        raise InvalidInputError(
            f"{what} must be a non-empty string of at most {ID_LENGTH} characters, got {value!r}",
            field=what,
        )
    return value


def _check_fraction(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidInputError(f"{what} must be a number from 0 to 1, got {value!r}", field=what)
    return float(value)


def _check_status(value: str, what: str = "status") -> str:
    if value not in JOB_STATUSES:
        raise InvalidInputError(
            f"{what} {value!r} is not a job status: accepted are {', '.join(JOB_STATUSES)}",
            field=what,
        )
    return value


class _Statements:
    """The statements of the hot paths, built once per store: building and hashing a statement
    costs more than running it on SQLite."""

    def __init__(self, dialect: str) -> None:
        from sqlalchemy.dialects import postgresql, sqlite

        dialect_insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self.insert_node = (
            dialect_insert(nodes)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(nodes.c.id)
        )
        # A node stored again: an entity keeps its (content-addressed) data, an activity or agent
        # takes the new data; a new label wins, a missing embedding is filled in. Nothing comes
        # back when the id names a node of another category or kind.
        node = dialect_insert(nodes)
        self.upsert_node = node.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "data": case(
                    (nodes.c.category == "entity", nodes.c.data), else_=node.excluded.data
                ),
                "label": func.coalesce(node.excluded.label, nodes.c.label),
                "embedding": func.coalesce(nodes.c.embedding, node.excluded.embedding),
                "embedding_dim": func.coalesce(nodes.c.embedding_dim, node.excluded.embedding_dim),
            },
            where=(nodes.c.category == node.excluded.category)
            & (nodes.c.kind == node.excluded.kind),
        ).returning(nodes.c.id)
        s, d = nodes.alias("s"), nodes.alias("d")
        source = (
            select(
                s.c.id,
                bindparam("b_relation", type_=String()),
                d.c.id,
                bindparam("b_created_at", type_=UTCDateTime()),
            )
            .select_from(s.join(d, d.c.id == bindparam("b_dst")))
            .where(
                s.c.id == bindparam("b_src"),
                s.c.category == bindparam("b_src_cat"),
                d.c.category == bindparam("b_dst_cat"),
            )
        )
        insert_edge = (
            dialect_insert(edges)
            .from_select(["src", "relation", "dst", "created_at"], source)
            .on_conflict_do_nothing(index_elements=["src", "relation", "dst"])
        )
        self.insert_edge = insert_edge.returning(edges.c.id)
        # For many relations at once (executemany), their ends checked before.
        self.insert_edges = insert_edge
        self.node_categories = select(nodes.c.id, nodes.c.category).where(
            nodes.c.id.in_(bindparam("b_ids", expanding=True))
        )
        self.lock_job = (
            select(jobs.c.id).where(jobs.c.id == bindparam("b_job_id")).with_for_update()
        )
        self.max_seq = select(func.coalesce(func.max(job_events.c.seq), 0)).where(
            job_events.c.job_id == bindparam("b_job_id")
        )
        self.insert_event = job_events.insert()
        # The next seq computed inside the INSERT: one statement, under the job's row lock.
        self.append_event = (
            job_events.insert()
            .from_select(
                ["job_id", "seq", "at", "step", "progress", "message", "status"],
                select(
                    bindparam("b_job_id", type_=String()),
                    func.coalesce(func.max(job_events.c.seq), 0) + 1,
                    bindparam("b_at", type_=UTCDateTime()),
                    bindparam("b_step", type_=String()),
                    bindparam("b_progress", type_=job_events.c.progress.type),
                    bindparam("b_message", type_=String()),
                    bindparam("b_status", type_=String()),
                ).where(job_events.c.job_id == bindparam("b_job_id")),
            )
            .returning(job_events.c.seq)
        )
        self.insert_claim = (
            dialect_insert(job_claims)
            .on_conflict_do_nothing(index_elements=["job_id"])
            .returning(job_claims.c.job_id)
        )
        # The hot path of every job, prebuilt: a step, a start, an end, a new job.
        not_over = jobs.c.status.not_in(sorted(TERMINAL_STATUSES))
        self.set_step = (
            jobs.update()
            .where(jobs.c.id == bindparam("b_job_id"), not_over)
            .values(
                step=bindparam("b_step"),
                progress=bindparam("b_progress"),
                updated_at=bindparam("b_now"),
            )
            .returning(jobs.c.status)
        )
        # A start that takes the row (its lock, on PostgreSQL) and returns it, unless it is over.
        self.start = (
            jobs.update()
            .where(jobs.c.id == bindparam("b_job_id"), not_over)
            .values(
                status="running",
                progress=0.0,
                step="start",
                device=bindparam("b_device"),
                worker=bindparam("b_worker"),
                updated_at=bindparam("b_now"),
                started_at=func.coalesce(jobs.c.started_at, bindparam("b_now")),
            )
            .returning(*jobs.c)
        )
        self.finish = (
            jobs.update()
            .where(jobs.c.id == bindparam("b_job_id"), not_over)
            .values(
                status=bindparam("b_status"),
                step=bindparam("b_step"),
                progress=1.0,
                error=bindparam("b_error"),
                result=bindparam("b_result", type_=jobs.c.result.type),
                device=func.coalesce(bindparam("b_device", type_=String()), jobs.c.device),
                updated_at=bindparam("b_now"),
                finished_at=bindparam("b_now"),
            )
            .returning(jobs.c.id)
        )
        self.job_status = select(jobs.c.status).where(jobs.c.id == bindparam("b_job_id"))
        self.insert_job = (
            dialect_insert(jobs).on_conflict_do_nothing(index_elements=["id"]).returning(jobs.c.id)
        )
        job_node = dialect_insert(nodes)
        self.upsert_job_node = job_node.on_conflict_do_update(
            index_elements=["id"],
            set_={"label": job_node.excluded.label, "data": job_node.excluded.data},
            where=nodes.c.kind == "job",
        )
        self.claim_worker = (
            jobs.update()
            .where(jobs.c.id == bindparam("b_job_id"))
            .values(worker=bindparam("b_worker"), updated_at=bindparam("b_now"))
        )


def _check_page(limit: int, offset: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidInputError(f"limit must be from 1 to 10000, got {limit!r}", field="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInputError(f"offset must be 0 or more, got {offset!r}", field="offset")
