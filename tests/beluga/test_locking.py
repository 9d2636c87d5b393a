"""A writer that finds SQLite locked waits and retries; the caller never sees "locked"."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy.exc import OperationalError

from dunes.beluga import db, open_store
from dunes.config import Settings
from dunes.errors import StoreError


def test_write_waits_for_a_held_lock(settings: Settings) -> None:
    with open_store(settings) as store:
        holder = sqlite3.connect(
            settings.data_dir / "beluga.sqlite3", isolation_level=None, check_same_thread=False
        )
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO beluga_job_claims VALUES ('held', 'other', '2026-01-01')")
        released = threading.Event()

        def release() -> None:
            time.sleep(0.4)
            holder.execute("COMMIT")
            released.set()

        thread = threading.Thread(target=release)
        start = time.monotonic()
        thread.start()
        node = store.add_entity("task", {"waited": True})
        waited = time.monotonic() - start
        thread.join()
        holder.close()
        assert released.is_set() and waited >= 0.3
        assert store.get_node(node).data == {"waited": True}
        assert store.claim_job("held", worker="me") is False


def test_run_retries_lock_errors_then_gives_a_store_error(settings: Settings) -> None:
    with open_store(settings) as store:
        calls = []

        def flaky(conn: object) -> str:
            calls.append(1)
            if len(calls) < 3:
                raise OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
            return "done"

        assert db.run(store.engine, flaky, what="test write") == "done"
        assert len(calls) == 3

        def always_locked(conn: object) -> None:
            raise OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))

        with pytest.raises(StoreError, match="test write failed on sqlite"):
            db.run(store.engine, always_locked, what="test write", deadline_s=0.2)

        def broken(conn: object) -> None:
            raise OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))

        calls.clear()
        with pytest.raises(StoreError, match="no such table"):
            db.run(store.engine, lambda conn: (calls.append(1), broken(conn)), what="read")
        assert len(calls) == 1  # not a lock problem: no retry


def test_writers_queue_on_one_lock_per_file_and_process(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(settings) as first, open_store(settings) as second:
        queue = db.writer_queue(first.engine)
        assert queue is not None and queue is db.writer_queue(second.engine)
        assert queue.path.endswith("beluga.sqlite3-writer")
        # Held by one writer, the file lock keeps a writer of another process waiting.
        with queue.turn():
            code = (
                "import fcntl, os, sys\n"
                f"fd = os.open({queue.path!r}, os.O_RDWR)\n"
                "try:\n"
                "    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
                "except BlockingIOError:\n"
                "    sys.exit(3)\n"
            )
            assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 3
        # A forked child gets a queue (and a lock file descriptor) of its own.
        real = os.getpid()
        monkeypatch.setattr(os, "getpid", lambda: real + 1)
        assert db.writer_queue(first.engine) is not queue
    assert db.writer_queue(db.make_engine("sqlite://")) is None  # in-memory: nothing to share
