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


def run_script(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-c", code],
        timeout=60,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_a_cancelled_job_still_running_after_the_grace_ends_the_process(tmp_path: Path) -> None:
    marker = tmp_path / "cancelled"
    code = (
        "import time\n"
        "from pathlib import Path\n"
        "from dunes.orchestration.executors.celery_app import Watchdog\n"
        "dog = Watchdog()\n"
        "asked = time.monotonic() + 0.3\n"
        "with dog.limits(60, 120, on_soft=lambda m: None, on_hard=lambda: None,\n"
        "               cancelled=lambda: time.monotonic() > asked,\n"
        f"               on_cancel=lambda: Path({str(marker)!r}).write_text('x')):\n"
        "    time.sleep(30)  # a simulation: no step boundary to stop at\n"
    )
    started = time.monotonic()
    done = run_script(code)
    assert done.returncode == 70, done.stderr[-2000:]
    assert marker.read_text() == "x"
    assert time.monotonic() - started < 15  # poll, grace and start-up, not the 30 s


def test_a_cancelled_job_that_stops_within_the_grace_keeps_the_process(tmp_path: Path) -> None:
    code = (
        "import time\n"
        "from dunes.orchestration.executors.celery_app import Watchdog\n"
        "dog = Watchdog()\n"
        "with dog.limits(60, 120, on_soft=lambda m: None, on_hard=lambda: None,\n"
        "               cancelled=lambda: True, on_cancel=lambda: print('killed')):\n"
        "    time.sleep(1.0)  # it saw the cancel at a step boundary and ended\n"
        "time.sleep(3.0)\n"
        "print('alive')\n"
    )
    done = run_script(code)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["alive"]


def test_a_solo_worker_ends_by_running_itself_again_in_place(tmp_path: Path) -> None:
    """The solo worker is the whole worker: it must come back, not exit."""
    marker = tmp_path / "first"
    code = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from dunes.orchestration.executors.celery_app import Watchdog\n"
        f"marker = Path({str(marker)!r})\n"
        "if marker.exists():\n"
        "    print('again', os.getpid(), marker.read_text())\n"
        "    sys.exit(0)\n"
        "marker.write_text(str(os.getpid()))\n"
        "dog = Watchdog()\n"
        "with dog.limits(0.05, 0.2, on_soft=lambda m: None, on_hard=lambda: None):\n"
        "    time.sleep(30)\n"
    )
    done = run_script(code, env={"DUNES_WORKER_POOL": "solo"})
    assert done.returncode == 0, done.stderr[-2000:]
    word, pid, first = done.stdout.split()
    assert word == "again" and pid == first  # the same process, its image replaced
