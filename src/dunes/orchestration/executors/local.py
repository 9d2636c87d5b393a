"""The embedded executor: one worker process per GPU (and ``cpu_workers`` for the CPU).

Workers are started lazily with the *spawn* method and ``CUDA_VISIBLE_DEVICES`` already set in
their environment, so CUDA in the child only ever sees its one GPU (as ``cuda:0``). Each worker
keeps a ``DeviceRuntime`` (store, simulator, agents' models) for its whole life. The parent
schedules: a worker holds the job it runs and the next one (waiting in its pipe, so it never waits
for the parent between jobs); the rest wait in the device's queue. A worker that dies fails the
job it was running, its waiting job goes back to the queue, and it is replaced when there is work.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from multiprocessing.connection import Connection, wait
from typing import Any

from dunes.config import Settings
from dunes.cpus import ENV_CPUS, format_cpu_list, pin_from_env, share
from dunes.devices import Device, Inventory, discover
from dunes.errors import JobError
from dunes.orchestration.executors.base import WorkerInfo
from dunes.orchestration.health import HealthCheck
from dunes.orchestration.jobs import JobResult
from dunes.orchestration.store import read_result_note, result_note

log = logging.getLogger(__name__)

_ENV_LOCK = threading.Lock()
#: Jobs a worker holds at once: the one it runs and the next, waiting in its pipe.
PREFETCH = 2
#: How many ended jobs the executor remembers (a wait for one of them returns at once).
ENDED_MEMORY = 4096
CLOSED_MESSAGE = "the local executor was closed before the job started; resubmit it"


def child_environment(
    device: Device, *, threads: int | None, cpus: list[int] | None = None
) -> dict[str, str]:
    """Variables a worker for ``device`` needs before it starts.

    Workers share the host's cores with each other, the broker and the submitting process, so
    their OpenMP threads (Aer's, torch's) sleep when idle instead of spinning for a while after
    each parallel region (``OMP_WAIT_POLICY=PASSIVE``), and a CPU worker gets ``threads`` of
    them; a variable the user set wins. ``cpus``: the cores the worker is pinned to (see
    ``dunes.cpus``).
    """
    env: dict[str, str] = {}
    if cpus:
        env[ENV_CPUS] = format_cpu_list(cpus)
    if "OMP_WAIT_POLICY" not in os.environ:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    if device.kind == "cuda":
        pinned = device.uuid or str(
            device.physical_index if device.physical_index is not None else device.index
        )
        env["CUDA_VISIBLE_DEVICES"] = pinned
    else:
        env["CUDA_VISIBLE_DEVICES"] = ""
    if threads and "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def _worker_main(conn: Connection, settings: Settings, label: str, worker: str) -> None:
    """Child process: build the runtime once, then run job ids as they come."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pin_from_env()  # before any thread pool starts: its threads inherit the cores
    logging.basicConfig(level=settings.log_level.upper())
    from dunes.orchestration.runner import DeviceRuntime

    local = "cpu" if label == "cpu" else "cuda:0"
    runtime = DeviceRuntime(settings, local, worker=worker, label=label)
    try:
        runtime.warm()
    except Exception as exc:  # report and keep going: jobs will fail with the reason
        log.exception("worker %s could not warm up", worker)
        conn.send(("warn", f"{type(exc).__name__}: {exc}"))
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message is None:
            break
        _, job_id, attempt = message
        conn.send(("started", job_id))
        note = None
        try:
            note = result_note(runtime.run_job(job_id, attempt=attempt).result)
        except Exception:  # the store itself failed; say so and live on
            log.exception("job %s could not be run", job_id)
        conn.send(("done", job_id, note))
    conn.close()


class _Ended(threading.Event):
    """Set when a job ends, for whoever waits; ``note`` carries its result when it is small."""

    note: str | None = None


class _Worker:
    def __init__(self, device: Device, slot: int) -> None:
        self.device = device
        self.slot = slot
        self.process: Any = None
        self.conn: Connection | None = None
        #: Jobs sent to this worker, in order: the first runs, the rest wait in its pipe.
        self.jobs: list[str] = []
        self.ready = False
        self.restarts = 0
        self.early_deaths = 0
        #: The cores it is pinned to (a cpu list), for CPU workers that share the host.
        self.cpus: str | None = None
        #: When the job in hand started (monotonic), for the time limits; None when idle.
        self.started_at: float | None = None
        self.jobs_run = 0

    @property
    def name(self) -> str:
        return f"local-{self.device.id.replace(':', '')}-{self.slot}"

    @property
    def job(self) -> str | None:
        """The job this worker runs now (or is about to)."""
        return self.jobs[0] if self.jobs else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()


class LocalExecutor:
    """Worker processes on this machine, one per device (``cpu_workers`` for the CPU)."""

    name = "local"

    def __init__(
        self,
        settings: Settings,
        *,
        inventory: Inventory | None = None,
        cancel_grace_s: float = 0.5,
    ) -> None:
        self.settings = settings
        self.inventory = inventory or discover()
        self.cancel_grace_s = cancel_grace_s
        self._ctx = multiprocessing.get_context("spawn")
        self._lock = threading.RLock()
        self._workers: dict[str, list[_Worker]] = {}
        self._pending: dict[str, collections.deque[tuple[str, int]]] = {}
        self._events: dict[str, _Ended] = {}
        #: Ids of the jobs that ended lately, newest last: a wait for one returns at once.
        self._ended: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._rr = itertools.count()
        self._wake_r, self._wake_w = multiprocessing.Pipe(duplex=False)
        self._closed = False
        self._thread: threading.Thread | None = None
        #: Jobs failed for running too long (their worker's death is then no news).
        self._over_time: set[str] = set()

    # --- Executor API --------------------------------------------------------------------------

    def slots(self) -> list[str]:
        if self.inventory.gpus:
            return [d.id for d in self.inventory.gpus]
        return ["cpu"] * self.settings.executor.cpu_workers

    def route(self) -> str:
        gpus = sorted(self.inventory.gpus, key=lambda d: (-d.memory_free, d.index or 0))
        if not gpus:
            return "cpu"
        return gpus[next(self._rr) % len(gpus)].id

    def dispatch(self, job_id: str, *, device: str, attempt: int = 0) -> None:
        if self._closed:
            raise JobError("the local executor is closed; create a new Orchestrator")
        target = self.inventory.get(device)
        with self._lock:
            self._events.setdefault(job_id, _Ended())
            self._pending.setdefault(target.id, collections.deque()).append((job_id, attempt))
            self._ensure_workers(target)
            self._assign(target.id)
        self._wake()

    def cancel(self, job_id: str) -> None:
        """Cooperative first (the worker checks between steps), then the worker is replaced."""
        with self._lock:
            for queue in self._pending.values():
                for item in list(queue):
                    if item[0] == job_id:
                        queue.remove(item)
                        self._finish(job_id)
            holder = self._holder(job_id)
        if holder is None:
            return
        timer = threading.Timer(self.cancel_grace_s, self._kill_if_still, args=(holder, job_id))
        timer.daemon = True
        timer.start()

    def wait(self, job_id: str, timeout: float) -> bool | JobResult:
        event = self._events.get(job_id)
        if event is None:
            if job_id in self._ended:
                return True
            time.sleep(min(timeout, 0.02))
            return False
        if not event.wait(timeout):
            return False
        return (event.note and read_result_note(job_id, event.note)) or True

    def close(self) -> None:
        """Stop every worker: finish the job in hand, then exit (killed after a grace)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = [w for ws in self._workers.values() for w in ws]
        for worker in workers:
            # Jobs waiting in a pipe never started: claim them so the worker skips them.
            for job_id in worker.jobs[1:]:
                self._fail_unstarted(job_id, CLOSED_MESSAGE)
            if worker.conn is not None:
                with contextlib.suppress(OSError, ValueError):
                    worker.conn.send(None)
        deadline = time.monotonic() + 10
        for worker in workers:
            if worker.process is not None:
                worker.process.join(max(0.1, deadline - time.monotonic()))
                if worker.process.is_alive():
                    worker.process.kill()
                    worker.process.join(5)
        self._wake()
        if self._thread is not None:
            self._thread.join(5)
        for worker in workers:
            if worker.conn is not None:
                with contextlib.suppress(OSError, EOFError):
                    while worker.conn.poll():
                        message = worker.conn.recv()
                        if message[0] == "done" and message[1] in worker.jobs:
                            worker.jobs.remove(message[1])
                worker.conn.close()
            if worker.job is not None:
                self._fail_lost(worker.job, worker, worker.process.exitcode)
        # Nobody else serves this executor's queue: say so rather than leave jobs queued forever.
        for device_id in list(self._pending):
            self._fail_pending(device_id, CLOSED_MESSAGE)

    def workers(self) -> list[WorkerInfo]:
        host = socket.gethostname()
        with self._lock:
            return [
                WorkerInfo(
                    name=w.name,
                    device=w.device.id,
                    queue=f"local:{w.device.id}",
                    host=host,
                    pid=w.process.pid if w.process is not None else None,
                    alive=w.alive,
                    cpus=w.cpus,
                    job=w.job,
                    jobs_run=w.jobs_run,
                )
                for ws in self._workers.values()
                for w in ws
                if w.process is not None
            ]

    def stalled(self, device: str | None) -> str | None:
        return None  # local workers start with the job

    def health(self, *, timeout: float = 1.0) -> list[HealthCheck]:
        found = self.workers()
        if not found:
            detail = "local workers start with the first job"
            return [HealthCheck(name="workers", status="ok", detail=detail)]
        dead = sorted({w.device for w in found if not w.alive})
        if dead:
            return [
                HealthCheck(
                    name="workers",
                    status="fail",
                    detail=f"no live worker for {', '.join(dead)}",
                    fix="see the log for why it exited; dunes doctor checks memory and models",
                )
            ]
        detail = f"{len(found)} local worker(s) alive"
        return [HealthCheck(name="workers", status="ok", detail=detail)]

    # --- internals -------------------------------------------------------------------------------

    def _ensure_workers(self, device: Device) -> None:
        workers = self._workers.get(device.id)
        if workers is None:
            count = self.settings.executor.cpu_workers if device.kind == "cpu" else 1
            workers = [_Worker(device, slot) for slot in range(count)]
            self._workers[device.id] = workers
        for worker in workers:
            if not worker.alive:
                self._start(worker)
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="dunes-local", daemon=True)
            self._thread.start()

    def _start(self, worker: _Worker) -> None:
        if worker.process is not None:
            worker.restarts += 1
            if worker.conn is not None:
                worker.conn.close()
        parent_conn, child_conn = self._ctx.Pipe()
        if worker.device.kind == "cpu":
            # Several CPU workers: each on a share of the cores of its own.
            count = self.settings.executor.cpu_workers
            cores = share(worker.slot, count)
            env = child_environment(
                worker.device, threads=len(cores), cpus=cores if count > 1 else None
            )
            worker.cpus = format_cpu_list(cores) if count > 1 else None
        else:
            env = child_environment(worker.device, threads=None)
        process = self._ctx.Process(
            target=_worker_main,
            args=(child_conn, self.settings, worker.device.id, f"{worker.name}-{os.getpid()}"),
            name=worker.name,
            daemon=True,
        )
        with _ENV_LOCK:
            saved = {key: os.environ.get(key) for key in env}
            os.environ.update(env)
            try:
                process.start()
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
        child_conn.close()
        worker.process = process
        worker.conn = parent_conn
        worker.jobs = []
        worker.ready = False

    def _assign(self, device_id: str) -> None:
        """Give queued jobs to the device's workers: each its next job first, then one more to
        wait in its pipe, so a worker goes from job to job without waiting for this process."""
        queue = self._pending.get(device_id)
        for depth in range(1, PREFETCH + 1):
            for worker in self._workers.get(device_id, []):
                if not queue:
                    return
                if len(worker.jobs) < depth and worker.alive and worker.conn is not None:
                    job_id, attempt = queue.popleft()
                    worker.jobs.append(job_id)
                    try:
                        worker.conn.send(("run", job_id, attempt))
                    except (OSError, ValueError):
                        worker.jobs.remove(job_id)
                        queue.appendleft((job_id, attempt))

    def _holder(self, job_id: str) -> _Worker | None:
        for workers in self._workers.values():
            for worker in workers:
                if worker.job == job_id:
                    return worker
        return None

    def _kill_if_still(self, worker: _Worker, job_id: str) -> None:
        with self._lock:
            if worker.job != job_id or not worker.alive:
                return  # done meanwhile (or it never started: the worker skips it)
            log.warning("job %s ignored its cancel; replacing worker %s", job_id, worker.name)
            worker.process.kill()

    def _finish(self, job_id: str, note: str | None = None) -> None:
        self._ended[job_id] = None
        if len(self._ended) > ENDED_MEMORY:
            self._ended.popitem(last=False)
        event = self._events.pop(job_id, None)
        if event is not None:
            event.note = note
            event.set()

    def _wake(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._wake_w.send(b"")

    def _loop(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                workers = [w for ws in self._workers.values() for w in ws if w.process is not None]
                waitables: list[Any] = [self._wake_r]
                for w in workers:
                    if w.conn is not None:
                        waitables.append(w.conn)
                    waitables.append(w.process.sentinel)
            with self._lock:
                timeout = self._enforce_time_limits()
            try:
                ready = wait(waitables, timeout=timeout)
            except (OSError, ValueError):
                ready = []
            if self._wake_r in ready:
                with contextlib.suppress(OSError, EOFError):
                    while self._wake_r.poll():
                        self._wake_r.recv_bytes()
            with self._lock:
                if self._closed:
                    return
                for worker in workers:
                    self._drain(worker)
                    if worker.process is not None and not worker.process.is_alive():
                        self._on_death(worker)
                for device_id in list(self._pending):
                    self._assign(device_id)

    def _drain(self, worker: _Worker) -> None:
        conn = worker.conn
        if conn is None:
            return
        try:
            while conn.poll():
                message = conn.recv()
                self._on_message(worker, message)
        except (EOFError, OSError):
            return

    def _on_message(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready":
            worker.ready = True
        elif kind == "warn":
            log.warning("worker %s: %s", worker.name, message[1])
        elif kind == "started":
            worker.started_at = time.monotonic()
        elif kind == "done":
            _, job_id, note = message
            if job_id in worker.jobs:
                worker.jobs.remove(job_id)
            worker.started_at = None
            worker.jobs_run += 1
            self._finish(job_id, note)
            self._assign(worker.device.id)

    def _enforce_time_limits(self) -> float:
        """Fail a job past ``executor.task_soft_time_limit_s`` and stop its worker; kill one past
        ``task_time_limit_s`` (what Celery workers do with the same settings). Returns the
        seconds until the next limit could be reached."""
        soft = float(self.settings.executor.task_soft_time_limit_s)
        hard = float(self.settings.executor.task_time_limit_s)
        now = time.monotonic()
        soonest = 1.0
        for worker in (w for ws in self._workers.values() for w in ws):
            if worker.started_at is None or worker.job is None or not worker.alive:
                continue
            ran = now - worker.started_at
            if ran >= hard:
                log.warning(
                    "job %s ran past the hard time limit; killing %s", worker.job, worker.name
                )
                worker.process.kill()
            elif ran >= soft and worker.job not in self._over_time:
                job_id = worker.job
                self._over_time.add(job_id)
                message = (
                    f"time limit exceeded: the job ran {ran:.0f} s, over "
                    f"executor.task_soft_time_limit_s={soft:g}; its worker was stopped"
                )
                self._fail_job(job_id, message)
                worker.process.kill()
            else:
                soonest = min(soonest, max(soft - ran, 0.01))
        return soonest

    def _on_death(self, worker: _Worker) -> None:
        code = worker.process.exitcode
        job_id, waiting = worker.job, worker.jobs[1:]
        worker.jobs = []
        log.warning("worker %s exited with code %s", worker.name, code)
        worker.started_at = None
        if job_id is not None:
            if job_id in self._over_time:
                self._over_time.discard(job_id)
            else:
                self._fail_lost(job_id, worker, code)
            self._finish(job_id)
        # The jobs waiting in its pipe never started: back to the front of the queue.
        queue = self._pending.setdefault(worker.device.id, collections.deque())
        for waiting_id in reversed(waiting):
            queue.appendleft((waiting_id, 0))
        if self._closed:
            return
        worker.early_deaths = 0 if worker.ready else worker.early_deaths + 1
        if worker.early_deaths >= 3:
            self._fail_pending(
                worker.device.id,
                f"the worker for {worker.device.id} exits before it is ready (exit code {code}, "
                f"{worker.early_deaths} times); run `dunes doctor` and see the log",
            )
            worker.early_deaths = 0
            worker.process = None
            return
        if self._pending.get(worker.device.id):
            self._start(worker)
        else:
            worker.process = None

    def _fail_pending(self, device_id: str, message: str) -> None:
        queue = self._pending.get(device_id)
        while queue:
            job_id, _ = queue.popleft()
            self._fail_job(job_id, message)
            self._finish(job_id)

    def _fail_unstarted(self, job_id: str, message: str) -> None:
        """Fail a job handed to a worker that has not started it; its claim makes the worker
        skip it (and loses to a worker that did start it meanwhile)."""
        self._fail_job(job_id, message, claim=True)

    def _fail_lost(self, job_id: str, worker: _Worker, code: int | None) -> None:
        self._fail_job(
            job_id,
            f"worker process for {worker.device.id} died (exit code {code}) during the job; "
            "the job was not retried. Check memory (dunes doctor) and resubmit",
        )

    def _fail_job(self, job_id: str, message: str, *, claim: bool = False) -> None:
        """Record ``job_id`` as failed; a job that ended otherwise meanwhile keeps that end.
        With ``claim``, only if no worker has claimed (started) it."""
        try:
            store = self._store()
            if not claim or store.claim_job(job_id, worker="local-executor"):
                store.finish_job(job_id, status="failed", message=message, error=message)
        except JobError:
            pass
        except Exception:
            log.exception("could not fail job %s", job_id)

    _store_obj: Any = None

    def _store(self) -> Any:
        if self._store_obj is None:
            from dunes.orchestration.store import open_job_store

            self._store_obj = open_job_store(self.settings)
        return self._store_obj
