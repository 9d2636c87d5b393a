"""Ctrl-C stops the work: a simulation in progress, a job (cancelled, not left to succeed)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.interfaces.api.conftest import clean_environment, dunes_executable
from tests.orchestration.helpers import slow_circuit

pytestmark = pytest.mark.slow


def interrupt(args: list[str], data_dir: Path, *, after_s: float) -> tuple[int, str, float]:
    """Start ``dunes ARGS``, send SIGINT after ``after_s`` s; (exit code, stderr, seconds from
    the signal to the exit)."""
    proc = subprocess.Popen(
        [dunes_executable(), *args],
        env=clean_environment(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(after_s)
    assert proc.poll() is None, proc.communicate()
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err, time.monotonic() - sent


def test_ctrl_c_stops_a_simulation_in_progress(tmp_path: Path) -> None:
    circuit = tmp_path / "slow.txt"  # a file: a 14,000-gate argument would fill the log
    circuit.write_text(slow_circuit(24, 300))
    code, err, took = interrupt(["simulate", str(circuit), "--no-record"], tmp_path, after_s=4)
    assert code == 130, err
    assert "cancelled: simulating the circuit" in err and "Traceback" not in err
    assert took < 5  # the benchmark (bench/cli.py) measures it; here: not a whole simulation


def test_ctrl_c_cancels_the_job_of_dunes_run(tmp_path: Path) -> None:
    code, err, took = interrupt(["run", "Design a 4-qubit GHZ state"], tmp_path, after_s=3)
    assert code == 130, err
    assert "cancelled: job" in err and "Traceback" not in err
    assert took < 10
    listed = subprocess.run(
        [dunes_executable(), "jobs", "list", "--json"],
        env=clean_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    (job,) = json.loads(listed.stdout)
    assert job["status"] == "cancelled"
    time.sleep(2)  # nothing left running finishes it later
    again = subprocess.run(
        [dunes_executable(), "jobs", "show", job["job_id"][:8], "--json"],
        env=clean_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(again.stdout)["job"]["status"] == "cancelled"
