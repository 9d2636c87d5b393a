"""Engines, transactions with retry, and migrations for the BELUGA store.

SQLite runs in WAL mode with a busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE`` so two writers queue on the lock instead of deadlocking on an upgrade. Before
that, writers from every thread and process wait in line on an OS file lock next to the database
(``<file>-writer``): the kernel wakes the next one the moment the lock is free, where SQLite's
busy handler would sleep 1, 2, 5, 10 ... ms between tries. What still comes back as "database is
locked" (or, on PostgreSQL, a serialization failure or deadlock) is retried with exponential
backoff before it can reach anyone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from dunes.errors import StoreError

T = TypeVar("T")
log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 30_000
RETRY_DEADLINE_S = 120.0
_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
_WRITE_OPTION = "beluga_write"

_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def display_url(engine_or_url: Engine | str) -> str:
    """The URL without its password, for messages."""
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite or PostgreSQL), tuned for several writing processes.

    Raises:
        StoreError: the URL is malformed or names a driver that is not installed.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"invalid database URL {url!r}: expected e.g. sqlite:///path/beluga.sqlite3 or "
            "postgresql+psycopg://user@host:5432/db",
            field="store.url",
        ) from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(
            f"unsupported database {backend!r} in {display_url(url)}: accepted are sqlite and "
            "postgresql (postgresql+psycopg://...)",
            field="store.url",
        )
    try:
        if backend == "sqlite":
            return _sqlite_engine(parsed.render_as_string(hide_password=False))
        return create_engine(parsed, pool_size=5, max_overflow=10)
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            f"no driver for {display_url(url)}: {exc}; for PostgreSQL install psycopg "
            "and use postgresql+psycopg://...",
            field="store.url",
        ) from exc


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: we issue BEGIN ourselves (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _retry_locked(lambda: cursor.execute("PRAGMA journal_mode = WAL"))
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, True)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class WriterQueue:
    """Writers to one SQLite file, in line on a file lock (``flock``) shared by every process.

    Threads of one process queue on a lock of their own first: ``flock`` is held per open file,
    so it only orders processes.
    """

    def __init__(self, database: str) -> None:
        self.path = f"{database}-writer"
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        import fcntl

        with self._thread_lock:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


_queues: dict[tuple[int, str], WriterQueue] = {}
_queues_lock = threading.Lock()


def writer_queue(engine: Engine) -> WriterQueue | None:
    """The queue of writers to ``engine``'s SQLite file; None for PostgreSQL and in-memory."""
    if engine.dialect.name != "sqlite" or os.name != "posix":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    # Per process too: a forked child must open the lock file itself (a descriptor shared with
    # its parent would share the lock) and must not inherit a thread lock held at the fork.
    key = (os.getpid(), database)
    queue = _queues.get(key)
    if queue is None:
        with _queues_lock:
            path = str(Path(database).resolve())
            queue = next(
                (
                    q
                    for (pid, _), q in _queues.items()
                    if pid == key[0] and q.path == f"{path}-writer"
                ),
                None,
            )
            queue = _queues[key] = queue or WriterQueue(path)
    return queue


def _retry_locked(fn: Callable[[], Any]) -> Any:
    import sqlite3

    delay, deadline = 0.01, time.monotonic() + RETRY_DEADLINE_S
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.5)


def is_retryable(exc: BaseException) -> bool:
    """Lock contention or a transaction the database asks us to repeat."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:  # a pooled connection went stale (server restart): reconnect
        return True
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    text = str(orig).lower()
    return "database is locked" in text or "database is busy" in text or "sqlite_busy" in text


def describe_db_error(engine: Engine, exc: SQLAlchemyError, what: str) -> StoreError:
    """A StoreError naming the database and what failed, without the SQL text."""
    orig = getattr(exc, "orig", None)
    detail = str(orig or exc).strip().splitlines()[0] if str(orig or exc).strip() else type(exc)
    return StoreError(f"{what} failed on {display_url(engine)}: {detail}")


def run(
    engine: Engine,
    fn: Callable[[Connection], T],
    *,
    what: str,
    write: bool = True,
    deadline_s: float = RETRY_DEADLINE_S,
) -> T:
    """Run ``fn`` in one transaction, retrying it on lock contention with backoff.

    Raises:
        StoreError: the database failed for another reason, or stayed locked past the deadline.
    """
    queue = writer_queue(engine) if write else None
    delay, deadline, attempt = 0.005, time.monotonic() + deadline_s, 0
    while True:
        attempt += 1
        try:
            # The connection is taken from the pool (and given back) outside the writers' line:
            # only the transaction itself holds the turn.
            with engine.connect() as conn, queue.turn() if queue else contextlib.nullcontext():
                conn.execution_options(**{_WRITE_OPTION: write})
                with conn.begin():
                    return fn(conn)
        except SQLAlchemyError as exc:
            if is_retryable(exc) and time.monotonic() < deadline:
                log.debug("%s: retrying after %s (attempt %d)", what, exc, attempt)
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 1.0)
                continue
            raise describe_db_error(engine, exc, what) from exc


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (once per URL and process).

    Concurrent first opens are serialized: SQLite by the write lock, PostgreSQL by an advisory
    lock, so two workers starting at once never both create the tables.
    """
    key = engine.url.render_as_string(hide_password=False)
    with _migrate_lock:
        if key in _migrated:
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))

        def upgrade(conn: Connection) -> None:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242004242)")
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

        run(engine, upgrade, what="migrating the store")
        _migrated.add(key)
