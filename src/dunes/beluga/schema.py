"""Tables of the BELUGA store (SQLAlchemy Core); the Alembic migrations create the same shape.

Names carry a ``beluga_`` prefix so the store can share a database with other applications.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

ID_LENGTH = 255


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone, so we add it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        return stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored.astimezone(UTC)


metadata = MetaData()

nodes = Table(
    "beluga_nodes",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("category", String(16), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("label", String(ID_LENGTH), nullable=True),
    Column("data", JSON, nullable=False),
    Column("embedding", LargeBinary, nullable=True),
    Column("embedding_dim", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_beluga_nodes_kind", "kind"),
    Index("ix_beluga_nodes_created_at", "created_at"),
)

edges = Table(
    "beluga_edges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("src", String(ID_LENGTH), ForeignKey("beluga_nodes.id"), nullable=False),
    Column("relation", String(32), nullable=False),
    Column("dst", String(ID_LENGTH), ForeignKey("beluga_nodes.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("src", "relation", "dst", name="uq_beluga_edges_src_relation_dst"),
    Index("ix_beluga_edges_dst", "dst"),
)

jobs = Table(
    "beluga_jobs",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("input", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("progress", Float, nullable=False),
    Column("step", String(ID_LENGTH), nullable=True),
    Column("error", Text, nullable=True),
    Column("result", JSON, nullable=True),
    Column("result_ref", String(1024), nullable=True),
    Column("device", String(64), nullable=True),
    Column("worker", String(ID_LENGTH), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Index("ix_beluga_jobs_status_created_at", "status", "created_at"),
    Index("ix_beluga_jobs_created_at", "created_at"),
)

job_events = Table(
    "beluga_job_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(ID_LENGTH), ForeignKey("beluga_jobs.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("step", String(ID_LENGTH), nullable=False),
    Column("progress", Float, nullable=False),
    Column("message", Text, nullable=False),
    Column("status", String(16), nullable=True),
    UniqueConstraint("job_id", "seq", name="uq_beluga_job_events_job_id_seq"),
)

# One row per claimed job id: the primary key is what makes a claim happen at most once,
# whichever process or host tries it.
job_claims = Table(
    "beluga_job_claims",
    metadata,
    Column("job_id", String(ID_LENGTH), primary_key=True),
    Column("worker", String(ID_LENGTH), nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
)
