"""Nodes, edges, jobs, job events and job claims.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = 255


def upgrade() -> None:
    op.create_table(
        "beluga_nodes",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("label", sa.String(ID), nullable=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("embedding", sa.LargeBinary, nullable=True),
        sa.Column("embedding_dim", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_beluga_nodes_kind", "beluga_nodes", ["kind"])
    op.create_index("ix_beluga_nodes_created_at", "beluga_nodes", ["created_at"])
    op.create_table(
        "beluga_edges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("src", sa.String(ID), sa.ForeignKey("beluga_nodes.id"), nullable=False),
        sa.Column("relation", sa.String(32), nullable=False),
        sa.Column("dst", sa.String(ID), sa.ForeignKey("beluga_nodes.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("src", "relation", "dst", name="uq_beluga_edges_src_relation_dst"),
    )
    op.create_index("ix_beluga_edges_dst", "beluga_edges", ["dst"])
    op.create_table(
        "beluga_jobs",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("input", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("step", sa.String(ID), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("result_ref", sa.String(1024), nullable=True),
        sa.Column("device", sa.String(64), nullable=True),
        sa.Column("worker", sa.String(ID), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_beluga_jobs_status_created_at", "beluga_jobs", ["status", "created_at"])
    op.create_index("ix_beluga_jobs_created_at", "beluga_jobs", ["created_at"])
    op.create_table(
        "beluga_job_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(ID), sa.ForeignKey("beluga_jobs.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step", sa.String(ID), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=True),
        sa.UniqueConstraint("job_id", "seq", name="uq_beluga_job_events_job_id_seq"),
    )
    op.create_table(
        "beluga_job_claims",
        sa.Column("job_id", sa.String(ID), primary_key=True),
        sa.Column("worker", sa.String(ID), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("beluga_job_claims")
    op.drop_table("beluga_job_events")
    op.drop_index("ix_beluga_jobs_created_at", "beluga_jobs")
    op.drop_index("ix_beluga_jobs_status_created_at", "beluga_jobs")
    op.drop_table("beluga_jobs")
    op.drop_index("ix_beluga_edges_dst", "beluga_edges")
    op.drop_table("beluga_edges")
    op.drop_index("ix_beluga_nodes_created_at", "beluga_nodes")
    op.drop_index("ix_beluga_nodes_kind", "beluga_nodes")
    op.drop_table("beluga_nodes")
