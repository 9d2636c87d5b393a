"""The local executor with real spawned worker processes and a real store."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from dunes.config import Settings, get_settings
from dunes.cpus import allowed_cpus, share
from dunes.devices import Device
from dunes.errors import InvalidInputError, JobNotFoundError
from dunes.orchestration import JobRequest, JobResult, Orchestrator
from dunes.orchestration.executors.local import LocalExecutor, child_environment
from dunes.orchestration.store import chunk_id, to_result
from tests.orchestration.helpers import poll, slow_circuit

GHZ = "h(0); cx(0,1); cx(1,2); cx(2,3)"
WAIT = 120.0


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return get_settings(data_dir=tmp_path_factory.mktemp("local"))


@pytest.fixture(scope="module")
def orch(module_settings: Settings) -> Iterator[Orchestrator]:
    executor = LocalExecutor(module_settings, cancel_grace_s=1.0)
    with Orchestrator(module_settings, executor=executor) as orchestrator:
        yield orchestrator


def cpu_pids(orch: Orchestrator) -> list[int]:
    executor = orch.executor
    assert isinstance(executor, LocalExecutor)
    return [w.pid for w in executor.workers() if w.device == "cpu" and w.alive and w.pid]


def test_circuit_job_runs_in_a_worker_and_streams_events(orch: Orchestrator) -> None:
    job_id = orch.submit(JobRequest(circuit=GHZ))
    result = orch.result(job_id, timeout=WAIT)
    assert result.status == "succeeded", result.error
    assert result.circuit == GHZ
    assert result.statevector is not None
    assert result.statevector[0][0] == pytest.approx(2**-0.5)
    assert result.statevector[15][0] == pytest.approx(2**-0.5)
    job = orch.status(job_id)
    assert (job.status, job.progress, job.device) == ("succeeded", 1.0, "cpu")
    assert job.started_at is not None and job.finished_at is not None
    events = list(orch.events(job_id))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].step == "start" and events[-1].status == "succeeded"
    assert [e.seq for e in orch.events(job_id, after_seq=2)] == [e.seq for e in events[2:]]
    assert job_id in [j.job_id for j in orch.list(status="succeeded")]
    assert len(cpu_pids(orch)) == 1 and cpu_pids(orch)[0] != os.getpid()


def test_whoever_waits_is_handed_the_result_the_store_holds(orch: Orchestrator) -> None:
    busy = orch.submit(JobRequest(circuit=slow_circuit(14, 40)))
    job_id = orch.submit(JobRequest(circuit=GHZ))
    handed = orch.executor.wait(job_id, WAIT)
    assert isinstance(handed, JobResult) and handed.status == "succeeded"
    assert handed == to_result(orch.store.get_job(job_id))
    assert orch.result(busy, timeout=WAIT).status == "succeeded"
    # A job that ended lately: a wait says so at once (the record is in the store).
    assert orch.executor.wait(busy, WAIT) is True
    assert orch.executor.wait("never-submitted", 0.01) is False


def test_many_jobs_submitted_at_once_run_in_order_of_their_ids(orch: Orchestrator) -> None:
    requests = [JobRequest(circuit="h(0); measure", shots=50, seed=i) for i in range(5)]
    ids = orch.submit_many([*requests, {"circuit": GHZ}])
    assert len(set(ids)) == 6
    results = [orch.result(job_id, timeout=WAIT) for job_id in ids]
    assert [r.status for r in results] == ["succeeded"] * 6
    assert [r.job_id for r in results] == ids
    assert results[-1].statevector is not None and all(
        sum(r.counts.values()) == 50 for r in results[:5]
    )
    before = len(orch.list(limit=1000))
    with pytest.raises(InvalidInputError, match=r"request 1: .*shots") as info:
        orch.submit_many([{"circuit": GHZ}, {"circuit": GHZ, "shots": -3}])
    assert info.value.field and info.value.field.startswith("requests[1]")
    assert len(orch.list(limit=1000)) == before  # nothing of a malformed batch is submitted


def test_unknown_job_is_a_clear_error(orch: Orchestrator) -> None:
    with pytest.raises(JobNotFoundError, match="no job nope"):
        orch.status("nope")


def test_bad_circuit_fails_the_job_and_the_worker_lives_on(orch: Orchestrator) -> None:
    orch.result(orch.submit(JobRequest(circuit="h(0)")), timeout=WAIT)
    before = cpu_pids(orch)
    bad = orch.result(orch.submit(JobRequest(circuit="h(0); foo(1)")), timeout=WAIT)
    assert bad.status == "failed"
    assert bad.error is not None and "unknown gate 'foo'" in bad.error
    # entangled across every cut and not Clifford: no method fits this host
    too_big = orch.result(
        orch.submit(JobRequest(circuit="; ".join(["h(0); t(0); cx(0,45)"] * 30))), timeout=WAIT
    )
    assert too_big.status == "failed" and too_big.error and "usable" in too_big.error
    good = orch.result(orch.submit(JobRequest(circuit=GHZ)), timeout=WAIT)
    assert good.status == "succeeded"
    assert cpu_pids(orch) == before


def test_a_killed_worker_fails_its_job_and_is_replaced(orch: Orchestrator) -> None:
    orch.result(orch.submit(JobRequest(circuit="h(0)")), timeout=WAIT)
    (pid,) = cpu_pids(orch)
    job_id = orch.submit(JobRequest(circuit=slow_circuit(18, 60)))
    waiting = orch.submit(JobRequest(circuit=GHZ))  # handed over too, waiting in the pipe
    poll(lambda: orch.status(job_id).status == "running", timeout=WAIT, what="job running")
    os.kill(pid, signal.SIGKILL)
    result = orch.result(job_id, timeout=WAIT)
    assert result.status == "failed"
    assert result.error is not None and "died (exit code -9)" in result.error
    # The job that never started is not lost with the worker: its replacement runs it.
    assert orch.result(waiting, timeout=WAIT).status == "succeeded"
    after = orch.result(orch.submit(JobRequest(circuit=GHZ)), timeout=WAIT)
    assert after.status == "succeeded"
    assert cpu_pids(orch) and cpu_pids(orch) != [pid]


def test_cancel_a_queued_and_a_running_job(orch: Orchestrator) -> None:
    running = orch.submit(JobRequest(circuit=slow_circuit(18, 60)))
    queued = orch.submit(JobRequest(circuit=GHZ))
    poll(lambda: orch.status(running).status == "running", timeout=WAIT, what="job running")
    assert orch.cancel(queued).status == "cancelled"
    assert orch.cancel(running).status == "cancelled"
    assert orch.result(running, timeout=WAIT).status == "cancelled"
    assert orch.result(queued, timeout=WAIT).status == "cancelled"
    assert "start" not in [e.step for e in orch.events(queued)]
    # The cancel is an event of its own, and the job keeps the progress it had.
    cancelled = [e for e in orch.events(queued) if e.step == "cancelled"]
    assert [(e.status, e.progress) for e in cancelled] == [("cancelled", 0.0)]
    assert orch.status(queued).progress == 0.0
    # Cancelling a finished job changes nothing; the executor goes on.
    assert orch.cancel(queued).status == "cancelled"
    assert orch.result(orch.submit(JobRequest(circuit=GHZ)), timeout=WAIT).status == "succeeded"


def test_a_cancel_that_loses_the_race_to_the_end_returns_the_end(
    orch: Orchestrator, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = orch.submit(JobRequest(circuit=GHZ))
    assert orch.result(job_id, timeout=WAIT).status == "succeeded"
    store = orch.store
    # The cancel read the job while it still ran; it ended before the cancel was written.
    stale = iter([store.get_job(job_id).model_copy(update={"status": "running"})])
    real = store.get_job
    monkeypatch.setattr(store, "get_job", lambda jid: next(stale, None) or real(jid))
    assert orch.cancel(job_id).status == "succeeded"
    assert "cancelled" not in [e.step for e in orch.events(job_id)]


def test_worker_environment_is_set_before_it_starts(orch: Orchestrator) -> None:
    orch.result(orch.submit(JobRequest(circuit="h(0)")), timeout=WAIT)
    (pid,) = cpu_pids(orch)
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert b"CUDA_VISIBLE_DEVICES=" in environ  # the CPU worker sees no GPU


def test_child_environment_pins_one_gpu() -> None:
    gpu = Device(
        id="cuda:1",
        kind="cuda",
        index=1,
        physical_index=3,
        name="H100",
        uuid="GPU-abc",
        memory_total=1,
        memory_free=1,
    )
    assert child_environment(gpu, threads=None)["CUDA_VISIBLE_DEVICES"] == "GPU-abc"
    plain = gpu.model_copy(update={"uuid": None})
    assert child_environment(plain, threads=None)["CUDA_VISIBLE_DEVICES"] == "3"


def test_workers_threads_sleep_when_idle_and_cpu_workers_share_the_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dunes.devices import discover

    cpu = discover().get("cpu")
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    env = child_environment(cpu, threads=2)
    assert env["OMP_WAIT_POLICY"] == "PASSIVE" and env["OMP_NUM_THREADS"] == "2"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    assert child_environment(cpu, threads=2) == {"CUDA_VISIBLE_DEVICES": ""}


def test_worker_threads_option_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    from dunes.orchestration.executors.celery_worker import worker_plan

    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    assert worker_plan(settings, "cpu", threads=1)["env"]["OMP_NUM_THREADS"] == "1"
    assert "OMP_NUM_THREADS" not in worker_plan(settings, "cpu")["env"]
    # --cpus pins the worker and gives it one thread per core unless --threads says otherwise.
    first = allowed_cpus()[0]
    pinned = worker_plan(settings, "cpu", cpus=str(first))["env"]
    assert (pinned["DUNES_WORKER_CPUS"], pinned["OMP_NUM_THREADS"]) == (str(first), "1")
    assert worker_plan(settings, "cpu", threads=3, cpus=str(first))["env"]["OMP_NUM_THREADS"] == "3"
    with pytest.raises(InvalidInputError, match="cannot use; available"):
        worker_plan(settings, "cpu", cpus="4096")


def test_batch_is_split_over_the_cpu_workers_and_gathered_in_order(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path / "batch", executor={"cpu_workers": 2})
    circuits = [f"x({i % 3}); h(3)" for i in range(6)]
    with Orchestrator(settings, executor="local") as orch:
        job_id = orch.submit(JobRequest(circuits=circuits, shots=0))
        result = orch.result(job_id, timeout=WAIT)
        assert result.status == "succeeded", result.error
        assert [r.circuit for r in result.results or []] == circuits
        store = orch.store
        workers = {store.get_job(chunk_id(job_id, i)).worker for i in range(2)}
        assert len(workers) == 2
        # Each CPU worker runs on cores of its own (with one core, both share it).
        executor = orch.executor
        assert isinstance(executor, LocalExecutor)
        pids = [w.pid for w in executor.workers() if w.device == "cpu" and w.alive and w.pid]
        cores = [sorted(os.sched_getaffinity(pid)) for pid in pids]
        assert sorted(cores) == sorted([share(0, 2), share(1, 2)])
        if len(allowed_cpus()) >= 2:
            assert not set(cores[0]) & set(cores[1])
        sweep = orch.result(
            orch.submit(JobRequest(circuit="rx({t}, 0)", sweep={"t": [0.0, 3.141592653589793]})),
            timeout=WAIT,
        )
        assert [r.probabilities for r in sweep.results or []] == [
            {"0": pytest.approx(1.0)},
            {"1": pytest.approx(1.0)},
        ]


def test_maml_document_runs_as_a_job(orch: Orchestrator, tmp_path: Path) -> None:
    # A copy: the document has write permission and appends its History entry in place.
    source = Path(__file__).parents[2] / "examples" / "beluga_multi_gpu.maml.md"
    example = tmp_path / source.name
    example.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    result = orch.result(orch.submit(JobRequest(maml=str(example))), timeout=WAIT)
    assert result.status == "succeeded", result.error
    assert result.maml is not None and result.maml["status"] == "ok"
    assert all(b["status"] == "ok" for b in result.maml["blocks"])
    assert "## History" in example.read_text(encoding="utf-8")
    broken = orch.result(orch.submit(JobRequest(maml="no front matter here")), timeout=WAIT)
    assert broken.status == "failed" and broken.error


def test_close_finishes_the_job_in_hand_and_fails_the_ones_never_started(
    settings: Settings,
) -> None:
    orch = Orchestrator(settings, executor="local")
    running = orch.submit(JobRequest(circuit=slow_circuit(14, 300)))
    waiting = orch.submit(JobRequest(circuit="h(0)"))
    poll(lambda: orch.status(running).status == "running", timeout=WAIT, what="job running")
    orch.close()
    assert orch.status(running).status == "succeeded"
    left = orch.status(waiting)
    assert left.status == "failed" and left.error and "closed before the job started" in left.error
    orch.close()


def test_a_job_past_the_time_limit_fails_and_the_next_one_runs(tmp_path: Path) -> None:
    # Limits with room for a job that takes 0.02 s on a quiet machine to run on a loaded one.
    limited = get_settings(
        data_dir=tmp_path, executor={"task_soft_time_limit_s": 4, "task_time_limit_s": 8}
    )
    with Orchestrator(limited, executor=LocalExecutor(limited, cancel_grace_s=1.0)) as orch:
        warm = orch.result(orch.submit(JobRequest(circuit="x(0)")), timeout=WAIT)
        assert warm.status == "succeeded", warm.error
        slow = orch.submit(JobRequest(circuit=slow_circuit(22, 200)))
        result = orch.result(slow, timeout=60)
        assert result.status == "failed"
        assert result.error and "task_soft_time_limit_s=4" in result.error
        started, finished = orch.status(slow).started_at, orch.status(slow).finished_at
        assert started and finished and (finished - started).total_seconds() < 10
        after = orch.result(orch.submit(JobRequest(circuit="x(0)")), timeout=WAIT)
        assert after.status == "succeeded", after.error
