"""The warm runtime: started on first use, private, replaced when stale, stopped when idle."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interfaces.api.conftest import clean_environment, dunes_executable
from tests.orchestration.helpers import poll

pytestmark = pytest.mark.slow

TASK = "Design a 4-qubit GHZ state"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    environment = {**clean_environment(tmp_path / "data"), "DUNES_RUNTIME__ENABLED": "true"}
    yield environment
    subprocess.run([dunes_executable(), "runtime", "stop"], env=environment, timeout=60)


def dunes(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [dunes_executable(), *args], env=env, capture_output=True, text=True, timeout=300
    )


def status(env: dict[str, str]) -> dict[str, object]:
    return json.loads(dunes(env, "runtime", "status", "--json").stdout)


def test_the_second_run_finds_the_runtime_warm_and_private(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert status(env)["running"] is False
    first = dunes(env, "run", TASK, "--json")
    assert first.returncode == 0, first.stderr
    up = status(env)
    assert up["running"] is True and up["current"] is True and up["healthy"] is True
    second = dunes(env, "run", TASK, "--json")
    assert second.returncode == 0, second.stderr
    assert status(env)["pid"] == up["pid"]  # the same process served both
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a["circuit"] == b["circuit"] == "h(0); cx(0,1); cx(1,2); cx(2,3)"
    assert a["job_id"] != b["job_id"]
    plan = dunes(env, "agents", "plan", TASK, "--json")
    assert json.loads(plan.stdout)["family"] == "ghz"
    # Only its owner can reach it.
    socket = Path(str(up["socket"]))
    assert stat.S_IMODE(socket.stat().st_mode) == 0o600
    assert stat.S_IMODE(socket.parent.stat().st_mode) == 0o700
    # The jobs are in the store like any other.
    listed = json.loads(dunes(env, "jobs", "list", "--json").stdout)
    assert {j["job_id"] for j in listed} == {a["job_id"], b["job_id"]}
    # A job that fails there says at which step, as it does run here.
    failed = dunes(env, "run", "bake a lemon cake for twelve")
    assert failed.returncode == 1
    assert "failed at step '" in failed.stderr and "found no circuit" in failed.stderr
    assert "at step 'failed'" not in failed.stderr and status(env)["pid"] == up["pid"]
    stopped = dunes(env, "runtime", "stop")
    assert f"stopped runtime pid {up['pid']}" in stopped.stdout
    assert status(env)["running"] is False


def test_a_runtime_with_other_settings_is_replaced(env: dict[str, str]) -> None:
    assert dunes(env, "agents", "plan", TASK).returncode == 0
    old = status(env)["pid"]
    changed = {**env, "DUNES_AGENTS__CONFIDENCE_THRESHOLD": "0.3"}
    assert status(changed)["current"] is False
    assert dunes(changed, "agents", "plan", TASK).returncode == 0
    new = status(changed)
    assert new["pid"] != old and new["current"] is True
    with pytest.raises(ProcessLookupError):
        os.kill(int(str(old)), 0)


def test_an_idle_runtime_exits(env: dict[str, str]) -> None:
    idle = {**env, "DUNES_RUNTIME__IDLE_TIMEOUT_S": "2"}
    assert dunes(idle, "agents", "plan", TASK).returncode == 0
    pid = int(str(status(idle)["pid"]))
    poll(lambda: not _alive(pid), timeout=30, what="the idle runtime to exit")
    assert status(idle)["running"] is False


def test_ctrl_c_cancels_a_job_in_the_runtime(env: dict[str, str]) -> None:
    assert dunes(env, "runtime", "start").returncode == 0
    proc = subprocess.Popen(
        [dunes_executable(), "run", TASK], env=env, stderr=subprocess.PIPE, text=True
    )
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "cancelled: job" in err
    (job,) = json.loads(dunes(env, "jobs", "list", "--json").stdout)
    assert job["status"] == "cancelled"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
