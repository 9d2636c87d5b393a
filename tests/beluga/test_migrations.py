"""The Alembic migrations build exactly the tables the code queries, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from dunes.beluga import GraphStore, open_store
from dunes.beluga.schema import metadata
from dunes.config import Settings


def test_migrated_schema_matches_the_models(store: GraphStore) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": "beluga_alembic_version"}
        )
        assert compare_metadata(context, metadata) == []
        assert context.get_current_revision() == "0001"


def test_reopening_keeps_data(store: GraphStore, store_url: str, settings: Settings) -> None:
    node = store.add_entity("task", {"kept": True})
    with open_store(settings, url=store_url) as again:
        assert again.get_node(node).data == {"kept": True}
        tables = set(inspect(again.engine).get_table_names())
    assert {"beluga_nodes", "beluga_edges", "beluga_jobs", "beluga_job_events"} <= tables


def test_sqlite_runs_in_wal_mode(settings: Settings) -> None:
    with open_store(settings) as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
