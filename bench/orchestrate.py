"""Orchestration: what the job machinery costs over calling the pipeline in-process.

(a) end-to-end latency of the GHZ task ("Design a 4-qubit GHZ state"): the pipeline called
    directly in this process (agents resident, its graph record written in one transaction as
    a worker writes it), through the local executor and through Celery (one ``dunes worker
    --device cpu``); the overhead of a path is the median of its rep-by-rep differences from
    the in-process run; (b) a raw Celery no-op round trip
    (send_task + result.get over the Redis result backend) as the floor; (c) throughput of 200 small
    simulate jobs with 1 and 2 workers, local and Celery, submitted at once (``submit_many``):
    3-qubit circuits (the job machinery alone) and 12-qubit ones with 1,000 shots (about 8 ms of
    simulation each); two workers run on cores of their own (the local executor pins them,
    Celery workers get ``--cpus``), one worker on all of them; (d) what one recorded pipeline step costs (a job's step, progress and event
    in one store transaction) and how many events a GHZ job writes. Everything is warmed up
    first; latencies are medians of runs that take turns rep by rep, and the four throughput
    setups take turns round by round, so what is compared saw the same machine. Redis databases
    12 and 11 (the 2-worker Celery setup) are flushed and used.

    python bench/orchestrate.py [--reps 40] [--jobs 200] [--rounds 3] [--redis URL] [--redis2 URL]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import redis

from dunes.agents import AgentRuntime
from dunes.beluga import StepEvent, open_store
from dunes.config import Settings, get_settings
from dunes.cpus import allowed_cpus, format_cpu_list, share
from dunes.orchestration import JobRequest, Orchestrator, pipeline

TASK = "Design a 4-qubit GHZ state"
TINY = "h(0); cx(0,1); cx(1,2); rz(0.3,2); measure"


def layered(num_qubits: int = 12, layers: int = 6) -> str:
    """Rotations and a brick of CNOTs per layer, then measure: no shortcut for the simulator."""
    ops: list[str] = []
    for layer in range(layers):
        ops += [f"ry({0.1 * (layer + 1) * (q + 1):.3f},{q})" for q in range(num_qubits)]
        ops += [f"cx({q},{q + 1})" for q in range(layer % 2, num_qubits - 1, 2)]
    return "; ".join(ops) + "; measure"


#: name -> (circuit, shots) of the throughput runs.
WORKLOADS = {"3-qubit": (TINY, 100), "12-qubit": (layered(), 1000)}


def median_ms(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def settings_for(base: Path, name: str, url: str, cpu_workers: int = 1) -> Settings:
    return get_settings(
        data_dir=base / name,
        executor={
            "broker_url": url,
            "result_backend": url,
            "cpu_workers": cpu_workers,
        },
    )


@contextlib.contextmanager
def celery_workers(settings: Settings, count: int, logs: Path) -> Iterator[list[int]]:
    """Start ``count`` ``dunes worker --device cpu`` processes (several: each with ``--cpus``
    of its own, as the local executor pins its CPU workers); stop them afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUNES_")}
    env.update(
        {
            "DUNES_DATA_DIR": str(settings.data_dir),
            "DUNES_EXECUTOR__BROKER_URL": settings.executor.broker_url,
            "DUNES_EXECUTOR__RESULT_BACKEND": settings.executor.result_backend,
            "DUNES_CONFIG": str(logs / "absent.toml"),
            "C_FORCE_ROOT": "1",
        }
    )
    procs = []
    client = redis.Redis.from_url(settings.executor.broker_url)
    try:
        for i in range(count):
            out = open(logs / f"worker-{settings.data_dir.name}-{i}.log", "wb")  # noqa: SIM115
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        "from dunes.interfaces.cli import main; main()",
                        "worker",
                        "--device",
                        "cpu",
                        # Several workers: each on cores of its own; one: all of them.
                        *(
                            ["--cpus", format_cpu_list(share(i, count))]
                            if count > 1
                            else ["--threads", str(len(allowed_cpus()))]
                        ),
                        "--loglevel",
                        "WARNING",
                    ],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + 180
        pids = {p.pid for p in procs}
        while True:
            seen = {int(json.loads(v)["pid"]) for v in client.hgetall("dunes:workers").values()}
            if pids <= seen:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers did not register; see {logs}")
            time.sleep(0.1)
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        client.close()


def in_process_task(settings: Settings) -> Callable[[], None]:
    """The GHZ task through the pipeline in this process: agents resident, its graph record
    prepared by the pipeline and written in one transaction, as a worker writes it (without the
    job's start and end, which are the job machinery's)."""
    runtime = AgentRuntime(settings)
    store = open_store(settings)
    request = JobRequest(task=TASK)
    counter = iter(range(10**6))

    def once() -> None:
        job_id = f"inproc-{next(counter)}"
        store.create_job(job_id=job_id, kind="task", input=request.model_dump(mode="json"))
        ctx = pipeline.StepContext(settings=settings, job_id=job_id, graph_batches=[])
        result = pipeline.run_task(ctx, runtime, store, request)
        for batch in ctx.graph_batches or ():
            store.write(batch)
        assert result.statevector is not None

    return once


def submitted_task(orch: Orchestrator) -> Callable[[], None]:
    def once() -> None:
        result = orch.result(orch.submit(JobRequest(task=TASK)), timeout=300)
        assert result.status == "succeeded", result.error

    return once


def noop_round_trip(settings: Settings) -> Callable[[], None]:
    """send_task + result.get of a task that does nothing, over the Redis result backend."""
    from dunes.constants import CPU_QUEUE
    from dunes.orchestration.executors.celery_app import NOOP_TASK, make_app

    app = make_app(settings)

    def once() -> None:
        assert app.send_task(NOOP_TASK, args=[1], queue=CPU_QUEUE).get(timeout=60) == 1

    return once


def interleaved(runs: dict[str, Callable[[], None]], reps: int) -> dict[str, list[float]]:
    """The ms of each run, rep by rep: they take turns so that all of them see the same machine
    (it is shared and its speed drifts by tens of percent over minutes)."""
    for run in runs.values():
        run()
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(reps):
        for name, run in runs.items():
            times[name].append(median_ms(run, 1))
    return times


def paired_overhead(path: list[float], baseline: list[float]) -> float:
    """Median of the rep-by-rep differences: what ``path`` adds over ``baseline``, measured on
    the same few milliseconds of machine each time."""
    return statistics.median(a - b for a, b in zip(path, baseline, strict=True))


def step_write(settings: Settings, reps: int) -> float:
    """One recorded step on its own: ``record_steps`` with one step, on a running job."""
    store = open_store(settings)
    store.create_job(job_id="step-bench", kind="task", input={"task": TASK})
    store.start_job("step-bench", claim="step-bench", worker="bench", device="cpu", message="")

    def once() -> None:
        step = StepEvent("plan", 0.5, "plan done", datetime.now(UTC))
        store.record_steps("step-bench", [step])

    value = median_ms(once, reps * 10)
    store.close()
    return value


def events_per_job(orch: Orchestrator) -> list[str]:
    job_id = orch.submit(JobRequest(task=TASK))
    assert orch.result(job_id, timeout=300).status == "succeeded"
    return [e.step for e in orch.events(job_id)]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_cpu(pids: list[int]) -> float:
    """CPU seconds used so far by this process and ``pids``."""
    return time.process_time() + sum(cpu_seconds(pid) for pid in pids)


def run_queue_wait(pid: int) -> float:
    """Seconds the threads of ``pid`` have spent runnable but waiting for a core
    (``/proc/<pid>/task/*/schedstat``, Linux); 0 where the kernel does not say."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(stat.read_text().split()[1])
    return total / 1e9


@dataclasses.dataclass
class Round:
    """One throughput round: jobs per second, cores kept busy (this process, the workers and
    Redis), and per job the workers' CPU and their wait for a core, in ms."""

    rate: float
    cores: float
    worker_cpu_ms: float
    run_queue_ms: float


def throughput_round(
    orch: Orchestrator, jobs: int, circuit: str, shots: int, workers: list[int], shared: list[int]
) -> Round:
    """All jobs submitted at once, then every result awaited."""
    watched = workers + shared
    cpu, start = busy_cpu(watched), time.perf_counter()
    worker_cpu = sum(cpu_seconds(pid) for pid in workers)
    waited = sum(run_queue_wait(pid) for pid in workers)
    ids = orch.submit_many([JobRequest(circuit=circuit, shots=shots, seed=i) for i in range(jobs)])
    for job_id in ids:
        result = orch.result(job_id, timeout=600)
        assert result.status == "succeeded", result.error
    wall = time.perf_counter() - start
    return Round(
        rate=jobs / wall,
        cores=(busy_cpu(watched) - cpu) / wall,
        worker_cpu_ms=(sum(cpu_seconds(pid) for pid in workers) - worker_cpu) * 1000 / jobs,
        run_queue_ms=(sum(run_queue_wait(pid) for pid in workers) - waited) * 1000 / jobs,
    )


def throughput(
    setups: dict[str, tuple[Orchestrator, Callable[[], list[int]]]],
    shared: list[int],
    jobs: int,
    rounds: int,
) -> dict[tuple[str, str], Round]:
    """(setup, workload) -> the median of each figure over ``rounds``; the setups take turns
    round by round, so a 1-worker and a 2-worker run see the same machine. ``setups`` give
    their workers' pids; ``shared`` are the other processes on the cores (Redis)."""
    out = {}
    for name, (circuit, shots) in WORKLOADS.items():
        runs: dict[str, list[Round]] = {setup: [] for setup in setups}
        for orch, _ in setups.values():
            orch.result(orch.submit(JobRequest(circuit=circuit, shots=shots)), timeout=300)
        for _ in range(rounds):
            for setup, (orch, workers) in setups.items():
                runs[setup].append(throughput_round(orch, jobs, circuit, shots, workers(), shared))
        for setup, values in runs.items():
            out[setup, name] = Round(
                *(
                    statistics.median(getattr(v, field.name) for v in values)
                    for field in dataclasses.fields(Round)
                )
            )
    return out


def redis_pid(url: str) -> list[int]:
    """The Redis server's pid when it runs on this machine (it shares the cores)."""
    info = redis.Redis.from_url(url).info("server")
    pid = int(info.get("process_id", 0))
    return [pid] if pid and Path(f"/proc/{pid}").exists() else []


def local_pids(orch: Orchestrator) -> Callable[[], list[int]]:
    return lambda: [w.pid for w in orch.executor.workers() if w.alive and w.pid]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (median)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument(
        "--redis2", default="redis://127.0.0.1:6379/11", help="for the 2-worker Celery setup"
    )
    args = parser.parse_args()
    for url in (args.redis, args.redis2):
        redis.Redis.from_url(url).flushdb()
    base = Path(tempfile.mkdtemp(prefix="dunes-bench-orch-"))
    logs = base / "logs"
    logs.mkdir()
    load_before = os.getloadavg()[0]

    server = redis_pid(args.redis)
    local = settings_for(base, "local", args.redis)
    celery = settings_for(base, "celery", args.redis)
    # The 2-worker Celery setup gets a Redis database of its own: both consume dunes.cpu.
    celery2 = settings_for(base, "celery2", args.redis2)
    with (
        Orchestrator(local, executor="local") as local_orch,
        Orchestrator(settings_for(base, "local2", args.redis, 2), executor="local") as local2,
        celery_workers(celery, 1, logs) as pids,
        celery_workers(celery2, 2, logs) as pids2,
        Orchestrator(celery, executor="celery") as celery_orch,
        Orchestrator(celery2, executor="celery") as celery2_orch,
    ):
        times = interleaved(
            {
                "in-process pipeline (GHZ task)": in_process_task(
                    settings_for(base, "inproc", args.redis)
                ),
                "local executor (GHZ task)": submitted_task(local_orch),
                "celery executor (GHZ task)": submitted_task(celery_orch),
                "raw celery no-op round trip": noop_round_trip(celery),
            },
            args.reps,
        )
        rows = {name: statistics.median(values) for name, values in times.items()}
        steps = events_per_job(local_orch)
        rows["one recorded step (SQLite transaction)"] = step_write(local, args.reps)
        rates = throughput(
            {
                "celery 1": (celery_orch, lambda: pids),
                "celery 2": (celery2_orch, lambda: pids2),
                "local 1": (local_orch, local_pids(local_orch)),
                "local 2": (local2, local_pids(local2)),
            },
            server,
            args.jobs,
            args.rounds,
        )
    load_after = os.getloadavg()[0]

    inproc = rows["in-process pipeline (GHZ task)"]
    floor = rows["raw celery no-op round trip"]
    baseline = times["in-process pipeline (GHZ task)"]
    local_over = paired_overhead(times["local executor (GHZ task)"], baseline)
    celery_over = paired_overhead(times["celery executor (GHZ task)"], baseline)
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before:.1f} before, {load_after:.1f} after"
    )
    print()
    print("| latency (median) | ms |")
    print("|---|---|")
    for name, value in rows.items():
        print(f"| {name} | {value:.1f} |")
    print()
    print("| ratio | value | target |")
    print("|---|---|---|")
    print(
        f"| local overhead over in-process (median of paired differences) | {local_over:.1f} ms ({rows['local executor (GHZ task)'] / inproc:.2f}x) | |"
    )
    print(
        f"| celery overhead over in-process (median of paired differences) | {celery_over:.1f} ms ({rows['celery executor (GHZ task)'] / inproc:.2f}x) | |"
    )
    print(f"| celery overhead / raw round trip | {celery_over / floor:.2f}x | <= 2x |")
    for name in WORKLOADS:
        for executor in ("celery", "local"):
            one, two = rates[f"{executor} 1", name].rate, rates[f"{executor} 2", name].rate
            print(
                f"| {executor} throughput 2 workers / 1, {name} jobs "
                f"({two:.1f} / {one:.1f} jobs/s) | {two / one:.2f}x | >= 1.7x |"
            )
    cores = os.cpu_count() or 1
    print()
    print(
        "| throughput run | cores busy, 1 worker / 2 "
        f"| ceiling for 2 workers ({cores} cores / cores busy with 1) "
        "| worker CPU per job, ms, 1 / 2 | worker wait for a core per job, ms, 1 / 2 |"
    )
    print("|---|---|---|---|---|")
    for name in WORKLOADS:
        for executor in ("celery", "local"):
            one, two = rates[f"{executor} 1", name], rates[f"{executor} 2", name]
            print(
                f"| {executor}, {name} | {one.cores:.2f} / {two.cores:.2f} "
                f"| {cores / one.cores:.2f}x | {one.worker_cpu_ms:.1f} / {two.worker_cpu_ms:.1f} "
                f"| {one.run_queue_ms:.1f} / {two.run_queue_ms:.1f} |"
            )
    print(f"\nevents of one GHZ job ({len(steps)}): {', '.join(steps)}")
    print(
        f"{args.jobs} jobs per workload (3-qubit: '{TINY}', 100 shots; 12-qubit: "
        f"layered(12, 6), 1000 shots), median of {args.rounds} rounds; {args.reps} reps per "
        f"latency; data in {base}"
    )


if __name__ == "__main__":
    main()
