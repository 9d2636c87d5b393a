"""The Celery app of dunes workers: its configuration, its tasks, and a worker's own state.

The executor that sends work to it is ``executors/celery.py``.

A task message carries only a job id (JSON); the request, the progress and the result live in the
BELUGA store. Workers (``dunes worker --device cuda:0``) pin one device, run with the solo pool,
acknowledge late and take one message at a time, so a killed worker's job is redelivered. Because
Redis only redelivers an unacknowledged message after the visibility timeout (longer than the
longest task), every worker process also keeps a heartbeat and its in-flight job ids in Redis;
a live worker that sees a dead one's heartbeat expire requeues its jobs as a new attempt, and
``store.claim_job`` keeps each attempt (and the late original) from running twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from dunes.config import Settings
from dunes.constants import CELERY_APP_NAME, CPU_QUEUE, REDIS_KEY_PREFIX
from dunes.cpus import allowed_cpus, format_cpu_list
from dunes.errors import ConfigError, JobError
from dunes.orchestration.store import result_note

log = logging.getLogger(__name__)

EXECUTE_TASK = "dunes.execute"
NOOP_TASK = "dunes.noop"
#: Seconds between heartbeats; a worker is dead when it missed ``HEARTBEAT_TTL_S``.
HEARTBEAT_S = 1.0
HEARTBEAT_TTL_S = 5
DONE_TTL_S = 3600
REAP_LOCK_S = 15

#: The variable that tells a worker process its Celery node name (for its heartbeat).
ENV_NODE = "DUNES_WORKER_NODE"
#: The worker's pool (``solo`` or ``prefork``): how ``end_process`` lets a fresh process in.
ENV_POOL = "DUNES_WORKER_POOL"
#: The exit status of a worker process ended by its watchdog.
RESTART_EXIT = 70
#: How often the watchdog asks the store whether the running job was cancelled, and how long
#: it then leaves the job to stop at its next step before it ends the process.
CANCEL_POLL_S = 0.5
CANCEL_GRACE_S = 2.0

KEY_INSTANCES = f"{REDIS_KEY_PREFIX}instances"
KEY_WORKERS = f"{REDIS_KEY_PREFIX}workers"


def key_alive(instance: str) -> str:
    return f"{REDIS_KEY_PREFIX}alive:{instance}"


def key_inflight(instance: str) -> str:
    return f"{REDIS_KEY_PREFIX}inflight:{instance}"


def key_done(job_id: str) -> str:
    return f"{REDIS_KEY_PREFIX}done:{job_id}"


def broker_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean 'the broker cannot be reached'."""
    import kombu.exceptions
    import redis.exceptions

    return (
        kombu.exceptions.OperationalError,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        ConnectionError,
        OSError,
    )


def transport_options(settings: Settings) -> dict[str, Any]:
    return {
        "visibility_timeout": settings.executor.visibility_timeout_s,
        "socket_connect_timeout": 2,
        "socket_timeout": 10,
        "socket_keepalive": True,
        "retry_on_timeout": True,
        "health_check_interval": 10,
    }


def make_app(settings: Settings) -> Any:
    """A Celery app configured from ``settings.executor``.

    Raises:
        ConfigError: the visibility timeout does not exceed the hard time limit.
    """
    from celery import Celery

    ex = settings.executor
    if ex.visibility_timeout_s <= ex.task_time_limit_s:
        raise ConfigError(
            f"executor.visibility_timeout_s ({ex.visibility_timeout_s}) must exceed "
            f"executor.task_time_limit_s ({ex.task_time_limit_s}), or Redis redelivers running tasks",
            field="executor.visibility_timeout_s",
        )
    if ex.task_soft_time_limit_s >= ex.task_time_limit_s:
        raise ConfigError(
            "executor.task_soft_time_limit_s must be below executor.task_time_limit_s",
            field="executor.task_soft_time_limit_s",
        )
    app = Celery(
        CELERY_APP_NAME, broker=ex.broker_url, backend=ex.result_backend, set_as_current=False
    )
    options = transport_options(settings)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=ex.task_soft_time_limit_s,
        task_time_limit=ex.task_time_limit_s + 30,
        task_default_queue=CPU_QUEUE,
        task_create_missing_queues=True,
        broker_transport_options=options,
        result_backend_transport_options=options,
        redis_socket_connect_timeout=2,
        redis_socket_timeout=10,
        redis_retry_on_timeout=True,
        broker_connection_retry=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_connection_timeout=2,
        broker_heartbeat=None,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        result_expires=3600,
        task_track_started=False,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_publish_retry=True,
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.25,
            "interval_max": 0.5,
        },
    )
    _register_tasks(app, settings)
    return app


# --- inside a worker process -----------------------------------------------------------------


class WorkerState:
    """Per worker process: the device runtime (loaded once) and the Redis beacon."""

    current: WorkerState | None = None

    def __init__(
        self, app: Any, settings: Settings, *, device: str, label: str, queue: str
    ) -> None:
        from dunes.orchestration.runner import DeviceRuntime

        self.app = app
        self.settings = settings
        self.queue = queue
        self.instance = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.runtime = DeviceRuntime(settings, device, worker=self.instance, label=label)
        self.beacon = Beacon(self, settings.executor.broker_url)
        self.watchdog = Watchdog()

    @classmethod
    def get(cls, app: Any, settings: Settings) -> WorkerState:
        """The state of this process, built from the worker's environment on first use."""
        if cls.current is None or cls.current.instance.split(":")[1] != str(os.getpid()):
            label = os.environ.get("DUNES_WORKER_DEVICE", "cpu")
            local = "cpu" if label == "cpu" else "cuda:0"
            queue = os.environ.get("DUNES_WORKER_QUEUE", CPU_QUEUE)
            cls.current = WorkerState(app, settings, device=local, label=label, queue=queue)
            cls.current.beacon.start()
        return cls.current

    def requeue(self, job_id: str, attempt: int, queue: str) -> None:
        """Send ``job_id`` again as attempt ``attempt`` (its old message died with a worker)."""
        self.app.send_task(
            EXECUTE_TASK,
            args=[job_id, attempt],
            queue=queue,
            task_id=f"{job_id}@{attempt}",
            ignore_result=True,
        )


class Beacon:
    """Heartbeat, in-flight job ids, and the reaper of dead workers' jobs, over Redis.

    A worker in a job may not beat for long: Qiskit Aer holds the GIL for the whole of one
    simulation call, and this thread cannot run until it returns. So a job's start sets the
    heartbeat to last until the job's hard time limit (the watchdog ends the worker then), and
    a reaper on the same host does not wait for it: a worker whose process is gone is dead now.
    """

    def __init__(self, state: WorkerState, url: str) -> None:
        import redis

        self.state = state
        #: How long a worker in a job counts as alive without a beat.
        self.job_ttl = state.settings.executor.task_time_limit_s + HEARTBEAT_TTL_S
        self.busy = False
        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=10
        )
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        #: The connection whose in-flight mark's reply is still to be read (see ``track``).
        self._tracking: Any = None

    def start(self) -> None:
        if self.thread is None:
            with contextlib.suppress(*broker_errors()):
                self.beat()
                self.reap()
            self.thread = threading.Thread(target=self._loop, name="dunes-beacon", daemon=True)
            self.thread.start()

    def _loop(self) -> None:
        while not self.stop.wait(HEARTBEAT_S):
            try:
                self.beat()
                self.reap()
            except broker_errors() as exc:
                log.debug("beacon: broker unreachable (%s); retrying", exc)
            except Exception:
                log.exception("beacon failed; retrying")

    def info(self) -> str:
        """What the set of workers shows about this one; ``ttl``: how long it stays alive."""
        state = self.state
        return json.dumps(
            {
                "ttl": self.ttl,
                "queue": state.queue,
                "device": state.runtime.label,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "node": os.environ.get(ENV_NODE),
                "cpus": format_cpu_list(allowed_cpus()),
                "at": time.time(),
                "jobs_run": state.runtime.jobs_run,
            }
        )

    @property
    def ttl(self) -> int:
        return self.job_ttl if self.busy else HEARTBEAT_TTL_S

    def beat(self) -> None:
        state = self.state
        pipe = self.client.pipeline()
        pipe.set(key_alive(state.instance), "1", ex=self.ttl)
        pipe.sadd(KEY_INSTANCES, state.instance)
        pipe.hset(KEY_WORKERS, state.instance, self.info())
        pipe.execute()

    def reap(self) -> None:
        """Requeue the in-flight jobs of workers whose heartbeat expired.

        One reaper at a time per dead worker (a lock that expires, so a reaper killed half way
        is replaced); a job is dropped from the dead worker's list only once it is requeued.
        """
        for raw in self.client.smembers(KEY_INSTANCES):
            instance = raw.decode() if isinstance(raw, bytes) else str(raw)
            if instance == self.state.instance:
                continue
            if self.client.exists(key_alive(instance)) and not _gone_from_this_host(instance):
                continue
            lock = f"{REDIS_KEY_PREFIX}reaping:{instance}"
            if not self.client.set(lock, self.state.instance, nx=True, ex=REAP_LOCK_S):
                continue
            for job, info in self.client.hgetall(key_inflight(instance)).items():
                job_id = job.decode() if isinstance(job, bytes) else str(job)
                data = json.loads(info)
                try:
                    record = self.state.runtime.store.get_job(job_id)
                except JobError:
                    record = None
                if record is not None and not record.done:
                    log.warning("worker %s died with job %s; requeueing it", instance, job_id)
                    self.state.requeue(job_id, int(data["attempt"]) + 1, data["queue"])
                self.client.hdel(key_inflight(instance), job_id)
            pipe = self.client.pipeline()
            pipe.srem(KEY_INSTANCES, instance)
            pipe.hdel(KEY_WORKERS, instance)
            pipe.delete(key_inflight(instance))
            pipe.execute()

    def leave(self) -> None:
        """A clean stop: stop beating and leave the set of workers. In-flight jobs (there should
        be none after a warm shutdown) stay listed, for a live worker's reaper to requeue."""
        self.stop.set()
        with contextlib.suppress(*broker_errors()):
            instance = self.state.instance
            if self.client.hlen(key_inflight(instance)):
                return
            pipe = self.client.pipeline()
            pipe.srem(KEY_INSTANCES, instance)
            pipe.hdel(KEY_WORKERS, instance)
            pipe.delete(key_alive(instance))
            pipe.execute()

    def track(self, job_id: str, attempt: int, queue: str) -> None:
        """Mark the job in flight on this worker, and this worker alive until the job's hard
        limit. Sent now, the replies read when the job leaves (``untrack``): the job does not
        wait a round trip for it to start."""
        value = json.dumps({"attempt": attempt, "queue": queue})
        instance = self.state.instance
        self.busy = True
        pool = self.client.connection_pool
        conn = pool.get_connection()
        try:
            conn.send_command("HSET", key_inflight(instance), job_id, value)
            conn.send_command("SET", key_alive(instance), "1", "EX", str(self.ttl))
            conn.send_command("HSET", KEY_WORKERS, instance, self.info())
        except BaseException:
            conn.disconnect()
            pool.release(conn)
            raise
        self._tracking = conn

    def _settle(self) -> None:
        """Read the reply to the in-flight mark sent by ``track``, if any."""
        conn, self._tracking = self._tracking, None
        if conn is None:
            return
        try:
            for _ in range(3):  # the replies to track's three commands
                conn.read_response()
        except broker_errors():
            conn.disconnect()  # the pool connects it again when it is next used
        finally:
            self.client.connection_pool.release(conn)

    def untrack(self, job_id: str, *, done: bool, result: dict[str, Any] | None = None) -> None:
        """The job left this worker; with ``done`` wake whoever waits for it, handing over the
        ``result`` it stored when it succeeded (one round trip)."""
        self._settle()
        self.busy = False
        pipe = self.client.pipeline(transaction=False)
        if done:
            _push_done(pipe, job_id, result)
        pipe.hdel(key_inflight(self.state.instance), job_id)
        pipe.set(key_alive(self.state.instance), "1", ex=self.ttl)
        pipe.execute()

    def done(self, job_id: str) -> None:
        pipe = self.client.pipeline(transaction=False)
        _push_done(pipe, job_id)
        pipe.execute()


def _gone_from_this_host(instance: str) -> bool:
    """True when ``instance`` (``host:pid:tag``) ran on this host and its process is gone."""
    host, _, rest = instance.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # a process of another user has that pid now
        return False
    return False


def _push_done(pipe: Any, job_id: str, result: dict[str, Any] | None = None) -> None:
    """Queue the 'job is done' mark that waiters rotate (see ``CeleryExecutor.wait``): "1", or
    the result of a job that succeeded, as stored, when it is small."""
    pipe.rpush(key_done(job_id), result_note(result) or "1")
    pipe.expire(key_done(job_id), DONE_TTL_S)


class Watchdog:
    """The running job's time limits and cancellation, kept by one thread for the worker's life
    (a thread per job and limit would cost more than a small job's bookkeeping).

    Soft limit: ``on_soft(message)`` asks the job to stop at its next step boundary (never in the
    middle of a store write). Hard limit: ``on_hard`` runs (it fails the job) and the process
    ends (``end_process``). Cancellation: every ``CANCEL_POLL_S`` the thread asks
    ``cancelled()``; a job still running ``CANCEL_GRACE_S`` after it was cancelled (inside a
    simulation, which no step boundary interrupts) gets ``on_cancel`` and the process ends.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._job: _Limits | None = None
        self._thread: threading.Thread | None = None
        #: When the thread looks at the job next (it is not woken for a later deadline).
        self._wake_at = math.inf

    @contextlib.contextmanager
    def limits(
        self,
        soft: float,
        hard: float,
        *,
        on_soft: Callable[[str], None],
        on_hard: Callable[[], None],
        cancelled: Callable[[], bool] | None = None,
        on_cancel: Callable[[], None] = lambda: None,
    ) -> Iterator[None]:
        now = time.monotonic()
        job = _Limits(now + soft, now + hard, soft, on_soft, on_hard, cancelled, on_cancel)
        with self._changed:
            self._job = job
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="dunes-watchdog", daemon=True
                )
                self._thread.start()
            elif job.next_at(now) < self._wake_at:
                self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:  # the thread finds no job when it wakes
                self._job = None

    def _watch(self) -> None:
        while True:
            with self._changed:
                job = self._job
                if job is None:
                    self._wake_at = math.inf
                    self._changed.wait()
                    continue
                now = time.monotonic()
                self._wake_at = job.next_at(now)
                if now < self._wake_at:
                    self._changed.wait(self._wake_at - now)
                    continue
            end = job.due(now)  # outside the lock: it may ask the store
            if end is not None:
                with self._changed:
                    if self._job is not job:  # the job ended meanwhile
                        continue
                try:
                    end()
                finally:
                    end_process()


class _Limits:
    """One running job's deadlines and what to do at each."""

    def __init__(
        self,
        soft_at: float,
        hard_at: float,
        soft_s: float,
        on_soft: Callable[[str], None],
        on_hard: Callable[[], None],
        cancelled: Callable[[], bool] | None,
        on_cancel: Callable[[], None],
    ) -> None:
        self.soft_at, self.hard_at = soft_at, hard_at
        self.message = (
            f"the job passed the soft time limit of {soft_s:g} s (executor.task_soft_time_limit_s)"
        )
        self.on_soft, self.on_hard = on_soft, on_hard
        self.cancelled, self.on_cancel = cancelled, on_cancel
        self.poll_at = -math.inf if cancelled is not None else math.inf
        self.cancel_at = math.inf

    def next_at(self, now: float) -> float:
        return min(self.soft_at, self.hard_at, self.poll_at, self.cancel_at)

    def due(self, now: float) -> Callable[[], None] | None:
        """Do what is due at ``now``; the handler that ends the process, if that is due."""
        if now >= self.hard_at:
            return self.on_hard
        if now >= self.cancel_at:
            return self.on_cancel
        if now >= self.soft_at:  # say it once, then wait for the hard limit
            self.soft_at = math.inf
            self.on_soft(self.message)
        if now >= self.poll_at and self.cancelled is not None:
            self.poll_at = now + CANCEL_POLL_S
            with contextlib.suppress(Exception):  # an unreachable store is asked again
                if self.cancelled():
                    self.poll_at, self.cancel_at = math.inf, now + CANCEL_GRACE_S
        return None


def end_process() -> NoReturn:
    """End this worker process so that a fresh one takes its place (its models load again): a
    pool child exits and its pool starts another; a solo worker, which is the whole worker, runs
    its own command again in place (same pid, cores and device). Elsewhere: exit 70."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.environ.get(ENV_POOL) == "solo":
        with contextlib.suppress(OSError):
            os.execv(sys.executable, sys.orig_argv)
    os._exit(RESTART_EXIT)


def _register_tasks(app: Any, settings: Settings) -> None:
    @app.task(name=EXECUTE_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
    def execute(self: Any, job_id: str, attempt: int = 0) -> dict[str, Any]:
        state = WorkerState.get(app, settings)
        queue = (self.request.delivery_info or {}).get("routing_key") or state.queue
        ex = settings.executor
        state.beacon.track(job_id, attempt, queue)

        def leave() -> None:
            """Before the process ends: the job is no longer in flight here, and this instance
            leaves the set of workers (its successor joins as a new one)."""
            with contextlib.suppress(Exception):
                state.beacon.untrack(job_id, done=True)
                state.beacon.leave()

        def on_hard() -> None:
            message = f"the job passed the hard time limit of {ex.task_time_limit_s} s; its worker restarts"
            with contextlib.suppress(Exception):
                state.runtime.store.finish_job(
                    job_id, status="failed", message=message, error=message
                )
            leave()

        try:
            with state.watchdog.limits(
                ex.task_soft_time_limit_s,
                ex.task_time_limit_s,
                on_soft=lambda message: setattr(state.runtime, "stop_reason", message),
                on_hard=on_hard,
                cancelled=lambda: state.runtime.store.job_status(job_id) == "cancelled",
                on_cancel=leave,
            ):
                outcome = state.runtime.run_job(job_id, attempt=attempt)
        except BaseException:
            with contextlib.suppress(*broker_errors()):
                state.beacon.untrack(job_id, done=False)
            raise
        with contextlib.suppress(*broker_errors()):
            state.beacon.untrack(job_id, done=outcome.status != "skipped", result=outcome.result)
        return {"job_id": job_id, "status": outcome.status, "attempt": attempt}

    @app.task(name=NOOP_TASK)
    def noop(value: Any = None) -> Any:
        return value


# --- the executor, in the submitting process ------------------------------------------------------
