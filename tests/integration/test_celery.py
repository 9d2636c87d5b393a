"""The Celery executor against real Redis and real ``dunes worker`` processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dunes.config import Settings
from dunes.cpus import format_cpu_list, share
from dunes.errors import BrokerUnavailableError
from dunes.orchestration import JobRequest, Orchestrator
from dunes.orchestration.executors.celery import CeleryExecutor
from dunes.orchestration.executors.celery_app import (
    HEARTBEAT_TTL_S,
    _gone_from_this_host,
    key_inflight,
)
from dunes.orchestration.health import HealthCheck
from dunes.orchestration.store import chunk_id, to_result
from tests.conftest import port_open
from tests.integration.conftest import Workers
from tests.orchestration.helpers import poll, slow_circuit


def workers_check(settings: Settings) -> HealthCheck:
    """The doctor's line about the Celery workers."""
    executor = CeleryExecutor(settings)
    try:
        return next(c for c in executor.health(timeout=2.0) if c.name == "workers")
    finally:
        executor.close()


pytestmark = pytest.mark.integration

GHZ = "h(0); cx(0,1); cx(1,2); cx(2,3)"
WAIT = 120.0


def test_jobs_run_on_a_worker_and_bad_ones_do_not_kill_it(
    celery_settings: Settings, workers: Workers
) -> None:
    proc = workers.start("cpu")
    with Orchestrator(celery_settings) as orch:
        good = orch.result(orch.submit(JobRequest(circuit=GHZ)), timeout=WAIT)
        assert good.status == "succeeded", good.error
        assert good.statevector is not None and good.statevector[15][0] == pytest.approx(2**-0.5)
        # The result rode in the job's done mark, and it is the one the store holds.
        assert orch.executor.wait(good.job_id, 1.0) == good
        assert good == to_result(orch.store.get_job(good.job_id))
        wide = orch.result(orch.submit(JobRequest(circuit="h(0); cx(0,13)")), timeout=WAIT)
        assert wide.status == "succeeded" and len(wide.statevector or ()) == 2**14
        assert orch.executor.wait(wide.job_id, 1.0) is True  # too large for the mark: the store
        bad = orch.result(orch.submit(JobRequest(circuit="h(0); foo(1)")), timeout=WAIT)
        assert bad.status == "failed" and bad.error and "unknown gate 'foo'" in bad.error
        # entangled across every cut and not Clifford: no method fits this host
        big = orch.result(
            orch.submit(JobRequest(circuit="; ".join(["h(0); t(0); cx(0,45)"] * 30))), timeout=WAIT
        )
        assert big.status == "failed" and big.error and "usable" in big.error
        again = orch.result(orch.submit(JobRequest(circuit="x(0)")), timeout=WAIT)
        assert again.status == "succeeded"
        assert proc.poll() is None
        assert orch.status(again.job_id).device == "cpu"
    check = workers_check(celery_settings)
    assert check.status == "ok" and "dunes.cpu" in check.detail


def test_broker_unreachable_at_submit_is_clear_and_recorded(settings: Settings) -> None:
    url = "redis://127.0.0.1:6391/0"  # nothing listens there
    down = settings.model_copy(
        update={
            "executor": settings.executor.model_copy(
                update={"kind": "celery", "broker_url": url, "result_backend": url}
            )
        }
    )
    with Orchestrator(down) as orch:
        start = time.monotonic()
        with pytest.raises(BrokerUnavailableError, match=r"broker at redis://127.0.0.1:6391/0"):
            orch.submit(JobRequest(circuit=GHZ))
        assert time.monotonic() - start < 20
        (job,) = orch.list()
        assert job.status == "failed"
        assert job.error and "not submitted" in job.error and "cannot be reached" in job.error
        # Submitted together, every job left unsent says so; none stays queued.
        with pytest.raises(BrokerUnavailableError):
            orch.submit_many([JobRequest(circuit=GHZ), JobRequest(circuit="h(0)")])
        jobs = orch.list()
        assert len(jobs) == 3 and {j.status for j in jobs} == {"failed"}


def test_sigkill_mid_job_redelivers_20_jobs_none_lost_none_twice(
    celery_settings: Settings, workers: Workers
) -> None:
    proc = workers.start("cpu")
    with Orchestrator(celery_settings) as orch:
        ids = [orch.submit(JobRequest(circuit=slow_circuit(12, 250 + i))) for i in range(20)]
        kills = 0
        while kills < 3:
            mine = f":{proc.pid}:"
            running = [
                j
                for j in ids
                if (job := orch.store.get_job(j)).status == "running" and mine in (job.worker or "")
            ]
            if not running:
                if all(orch.status(j).done for j in ids):
                    break
                time.sleep(0.05)
                continue
            workers.kill(proc)
            kills += 1
            proc = workers.start("cpu")
        assert kills >= 2, "the jobs finished before the worker could be killed twice"
        results = [orch.result(j, timeout=WAIT) for j in ids]
        assert [r.status for r in results] == ["succeeded"] * 20, [r.error for r in results]
        store = orch.store
        for job_id in ids:
            kinds = store.lineage(job_id, depth=1).kinds()
            assert len(kinds.get("simulation", [])) == 1, job_id
        retried = [j for j in ids if any("attempt 2" in e.message for e in orch.events(j))]
        assert retried, "no job was redelivered"


def test_cancel_a_queued_and_a_running_job(celery_settings: Settings, workers: Workers) -> None:
    workers.start("cpu")
    with Orchestrator(celery_settings) as orch:
        running = orch.submit(JobRequest(circuit=slow_circuit(16, 30)))
        queued = orch.submit(JobRequest(circuit=GHZ))
        poll(lambda: orch.status(running).status == "running", timeout=WAIT, what="job running")
        # The running job is marked in flight on its worker (what the reaper requeues).
        (instance,) = [key.decode() for key in workers.redis.smembers("dunes:instances")]
        assert workers.redis.hexists(key_inflight(instance), running)
        assert orch.cancel(queued).status == "cancelled"
        assert orch.cancel(running).status == "cancelled"
        assert orch.result(running, timeout=WAIT).status == "cancelled"
        poll(
            lambda: not workers.redis.hexists(key_inflight(instance), running),
            timeout=WAIT,
            what="in-flight mark gone",
        )
        assert "start" not in [e.step for e in orch.events(queued)]
        after = orch.result(orch.submit(JobRequest(circuit="x(0)")), timeout=WAIT)
        assert after.status == "succeeded"
        assert orch.status(queued).status == "cancelled"


def test_batch_is_split_over_two_workers(celery_settings: Settings, workers: Workers) -> None:
    # Each on cores of its own (--cpus); with one core, both share it.
    procs = [workers.start("cpu", cpus=format_cpu_list(share(i, 2))) for i in range(2)]
    assert [sorted(os.sched_getaffinity(p.pid)) for p in procs] == [share(0, 2), share(1, 2)]
    circuits = [f"x({i % 3}); h(3)" for i in range(6)]
    with Orchestrator(celery_settings) as orch:
        job_id = orch.submit(JobRequest(circuits=circuits))
        result = orch.result(job_id, timeout=WAIT)
        assert result.status == "succeeded", result.error
        assert [r.circuit for r in result.results or []] == circuits
        assert {orch.store.get_job(chunk_id(job_id, i)).worker for i in range(2)}.__len__() == 2
    # The doctor names the cores each worker runs on.
    detail = workers_check(celery_settings).detail
    for proc, i in zip(procs, range(2), strict=True):
        assert f"dunes-cpu-{proc.pid}@" in detail
        assert f"(cores {format_cpu_list(share(i, 2))})" in detail


def _redis_server(port: int, directory: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    poll(lambda: port_open("127.0.0.1", port), timeout=30, what=f"redis on port {port}")
    return proc


def test_workers_reconnect_after_redis_restarts(
    settings: Settings, tmp_path: Path, workers_for: Callable[[Settings, Path], Workers]
) -> None:
    port = 6390
    if port_open("127.0.0.1", port):
        pytest.fail(f"port {port} is taken; this test starts its own Redis there")
    url = f"redis://127.0.0.1:{port}/0"
    own = settings.model_copy(
        update={
            "executor": settings.executor.model_copy(
                update={"kind": "celery", "broker_url": url, "result_backend": url}
            )
        }
    )
    server = _redis_server(port, tmp_path)
    try:
        workers = workers_for(own, tmp_path / "logs")
        proc = workers.start("cpu")
        with Orchestrator(own) as orch:
            first = orch.result(orch.submit(JobRequest(circuit=GHZ)), timeout=WAIT)
            assert first.status == "succeeded"
            server.terminate()
            server.wait(10)
            server = _redis_server(port, tmp_path)
            # The restarted Redis is empty: the worker shows up again once it has reconnected.
            workers.wait_ready(proc, timeout=WAIT)
            second = orch.submit(JobRequest(circuit="x(0); x(1)"))
            result = orch.result(second, timeout=WAIT)
            assert result.status == "succeeded", result.error
            assert proc.poll() is None
    finally:
        server.terminate()
        server.wait(10)


def with_time_limits(settings: Settings, *, soft_s: int, hard_s: int) -> Settings:
    executor = settings.executor.model_copy(
        update={"task_soft_time_limit_s": soft_s, "task_time_limit_s": hard_s}
    )
    return settings.model_copy(update={"executor": executor})


def test_soft_time_limit_fails_the_job_and_the_worker_goes_on(
    celery_settings: Settings, tmp_path: Path, workers_for: Callable[[Settings, Path], Workers]
) -> None:
    limited = with_time_limits(celery_settings, soft_s=1, hard_s=120)
    workers = workers_for(limited, tmp_path / "logs")
    proc = workers.start("cpu")
    with Orchestrator(limited) as orch:
        slow = orch.result(orch.submit(JobRequest(circuit=slow_circuit(20, 80))), timeout=WAIT)
        assert slow.status == "failed"
        assert slow.error and "soft time limit of 1 s" in slow.error
        quick = orch.result(orch.submit(JobRequest(circuit="x(0)")), timeout=WAIT)
        assert quick.status == "succeeded"
        assert proc.poll() is None


def test_the_hard_time_limit_fails_the_job_and_the_worker_comes_back(
    celery_settings: Settings, tmp_path: Path, workers_for: Callable[[Settings, Path], Workers]
) -> None:
    limited = with_time_limits(celery_settings, soft_s=1, hard_s=3)
    workers = workers_for(limited, tmp_path / "logs")
    proc = workers.start("cpu")
    with Orchestrator(limited) as orch:
        # Seconds inside one Aer call, which holds the GIL: the watchdog acts when it returns.
        over = orch.result(orch.submit(JobRequest(circuit=slow_circuit(20, 300))), timeout=WAIT)
        assert over.status == "failed"
        assert over.error and "hard time limit of 3 s" in over.error
        quick = orch.result(orch.submit(JobRequest(circuit="x(0)")), timeout=WAIT)
        assert quick.status == "succeeded", quick.error
        assert proc.poll() is None  # the solo worker ran itself again, same process
        assert proc.pid in workers.registered_pids()
    banner = f"dunes-cpu-{proc.pid}@"  # Celery's start-up banner: twice, one process
    assert (workers.logs / "worker-0.log").read_text().count(banner) == 2


def test_a_long_simulation_is_not_taken_for_a_dead_worker(
    celery_settings: Settings, workers: Workers
) -> None:
    """Aer holds the GIL for a whole simulation, so the worker cannot beat meanwhile; the other
    worker must not requeue its job (it once ran the same job three times)."""
    for _ in range(2):
        workers.start("cpu")
    with Orchestrator(celery_settings) as orch:
        started = time.monotonic()
        job_id = orch.submit(JobRequest(circuit=slow_circuit(21, 300)))
        result = orch.result(job_id, timeout=WAIT)
        assert result.status == "succeeded", result.error
        assert time.monotonic() - started > 2 * HEARTBEAT_TTL_S  # long enough to be taken
        starts = [e.message for e in orch.events(job_id) if e.step == "start"]
        assert len(starts) == 1, starts


def test_a_dead_worker_on_this_host_is_known_at_once() -> None:
    assert _gone_from_this_host(f"{socket.gethostname()}:{2**22 + 12345}:abcd1234")
    assert not _gone_from_this_host(f"{socket.gethostname()}:{os.getpid()}:abcd1234")
    assert not _gone_from_this_host(f"elsewhere.example:{2**22 + 12345}:abcd1234")


def test_a_worker_stopped_cleanly_leaves_the_set_of_workers_and_logs_no_library_noise(
    celery_settings: Settings, workers: Workers
) -> None:
    proc = workers.start("cpu", loglevel="INFO")
    with Orchestrator(celery_settings) as orch:
        done = orch.result(orch.submit(JobRequest(circuit=GHZ)), timeout=WAIT)
        assert done.status == "succeeded", done.error
    assert proc.pid in workers.registered_pids()
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    assert proc.pid not in workers.registered_pids()
    log = (workers.logs / "worker-0.log").read_text()
    assert "qiskit.passmanager" not in log and "alembic" not in log
