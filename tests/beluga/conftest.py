"""Store fixtures: every test runs on SQLite and on the real PostgreSQL, each in isolation.

PostgreSQL tests get a fresh schema (selected through ``search_path`` in the URL) that is dropped
afterwards, so they can run next to each other and next to other suites on the same database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dunes.beluga import GraphStore, open_store
from dunes.config import Settings


def _schema_url(base: str, schema: str) -> str:
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL of an empty store on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'graph.sqlite3'}"
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"beluga_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(store_url: str, settings: Settings) -> Iterator[GraphStore]:
    with open_store(settings, url=store_url) as opened:
        yield opened
