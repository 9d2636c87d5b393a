"""``dunes run`` end to end in a fresh data directory, then the jobs commands on its job."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dunes.config import Settings
from tests.integration.conftest import Workers

pytestmark = pytest.mark.integration

TASK = "Design a 4-qubit GHZ state"


def dunes(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from dunes.interfaces.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def check_ghz_json(data: dict[str, object]) -> None:
    assert data["status"] == "succeeded"
    assert data["circuit"] == "h(0); cx(0,1); cx(1,2); cx(2,3)"
    state = data["statevector"]
    assert isinstance(state, list) and len(state) == 16
    assert state[0][0] == pytest.approx(0.7071, abs=1e-4)
    assert state[15][0] == pytest.approx(0.7071, abs=1e-4)
    outputs = data["llm_outputs"]
    assert isinstance(outputs, dict)
    assert set(outputs) == {"planner", "extraction", "validation", "synthesis"}
    for output in outputs.values():
        assert output["device"] == "cpu" and output["result"]


def test_dunes_run_on_a_fresh_install_then_jobs_commands(tmp_path: Path) -> None:
    env = dict(os.environ)
    assert not (Path(env["DUNES_DATA_DIR"]) / "beluga.sqlite3").exists()
    run = dunes("run", TASK, env=env)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "ghz" in out and "h(0); cx(0,1); cx(1,2); cx(2,3)" in out
    assert re.search(r"\|0000>\s*│\s*\+0\.7071", out) and re.search(r"\|1111>\s*│\s*\+0\.7071", out)
    for role in ("planner", "extraction", "validation", "synthesis"):
        assert role in out
    job_id = re.search(r"job ([0-9a-f]{32}) succeeded", out)
    assert job_id, out
    shown = dunes("jobs", "show", job_id.group(1), "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    check_ghz_json(data["result"])
    assert data["events"][0]["step"] == "start"
    listed = json.loads(dunes("jobs", "list", "--json", env=env).stdout)
    assert [j["job_id"] for j in listed] == [job_id.group(1)]
    waited = dunes("jobs", "wait", job_id.group(1), "--json", env=env)
    assert json.loads(waited.stdout)["status"] == "succeeded"
    cancelled = dunes("jobs", "cancel", job_id.group(1), env=env)
    assert "succeeded" in cancelled.stdout  # a finished job stays as it was
    missing = dunes("jobs", "show", "0" * 32, env=env)
    assert missing.returncode == 1 and "no job" in missing.stderr


def test_dunes_run_over_celery_prints_one_json_object(
    celery_settings: Settings, workers: Workers
) -> None:
    workers.start("cpu")
    run = dunes("run", TASK, "--executor", "celery", "--json", env=workers.env())
    assert run.returncode == 0, run.stderr
    check_ghz_json(json.loads(run.stdout))
    doctor = dunes("doctor", "--executor", "celery", "--json", env=workers.env())
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert checks["broker"]["status"] == "ok"
    assert re.search(r"Redis \d+\.\d+", checks["broker"]["detail"])
    assert checks["store"]["status"] == "ok"
    assert "dunes.cpu" in checks["workers"]["detail"]
    assert doctor.returncode == 0, doctor.stdout


def test_doctor_says_what_to_do_when_the_broker_is_down(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["DUNES_EXECUTOR__KIND"] = "celery"
    env["DUNES_EXECUTOR__BROKER_URL"] = "redis://127.0.0.1:6391/0"
    env["DUNES_EXECUTOR__RESULT_BACKEND"] = "redis://127.0.0.1:6391/0"
    doctor = dunes("doctor", env=env)
    assert doctor.returncode == 1
    assert "FAIL broker" in doctor.stdout and "fix: start Redis" in doctor.stdout


def test_dunes_run_says_when_no_worker_will_take_the_job(
    celery_settings: Settings, workers: Workers
) -> None:
    started = time.monotonic()
    run = dunes("run", TASK, "--executor", "celery", "--timeout", "6", env=workers.env())
    took = time.monotonic() - started
    assert run.returncode == 1
    assert "waiting: no live worker consumes queue dunes.cpu" in run.stderr
    assert "start one: dunes worker --device cpu" in run.stderr
    assert "None" not in run.stderr and "timeout=)" not in run.stderr
    assert "is still queued" in run.stderr and "dunes jobs cancel" in run.stderr
    assert took < 20  # gives up at its timeout, not twice it
