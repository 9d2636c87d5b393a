"""The Celery worker's watchdog: the soft limit asks once, the hard limit ends the process."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from dunes.orchestration.executors.celery_app import Watchdog


def test_soft_limit_fires_once_and_not_after_the_job() -> None:
    dog = Watchdog()
    said: list[str] = []
    fired = threading.Event()

    def soft(message: str) -> None:
        said.append(message)
        fired.set()

    with dog.limits(0.05, 60, on_soft=soft, on_hard=lambda: None):
        assert fired.wait(5)
        time.sleep(0.1)
    assert len(said) == 1 and "soft time limit of 0.05 s" in said[0]
    with dog.limits(0.05, 60, on_soft=soft, on_hard=lambda: None):
        pass
    time.sleep(0.15)
    assert len(said) == 1


def test_a_shorter_limit_after_a_longer_one_fires_on_time() -> None:
    """The thread sleeps until the deadline it knows; a job with an earlier one must wake it."""
    dog = Watchdog()
    fired = threading.Event()
    with dog.limits(60, 120, on_soft=lambda m: fired.set(), on_hard=lambda: None):
        time.sleep(0.05)  # the thread now sleeps until 60 s from the start
    start = time.monotonic()
    with dog.limits(0.05, 120, on_soft=lambda m: fired.set(), on_hard=lambda: None):
        assert fired.wait(5)
    assert time.monotonic() - start < 2


def test_hard_limit_runs_its_handler_and_exits_70(tmp_path: Path) -> None:
    marker = tmp_path / "hard"
    code = (
        "import time\n"
        "from pathlib import Path\n"
        "from dunes.orchestration.executors.celery_app import Watchdog\n"
        "dog = Watchdog()\n"
        f"with dog.limits(0.05, 0.2, on_soft=lambda m: None, "
        f"on_hard=lambda: Path({str(marker)!r}).write_text('x')):\n"
        "    time.sleep(30)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], timeout=60, capture_output=True)
    assert proc.returncode == 70, proc.stderr.decode()[-2000:]
    assert marker.read_text() == "x"
