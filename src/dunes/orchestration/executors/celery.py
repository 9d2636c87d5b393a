"""The Celery executor: Redis as broker and result backend, one queue per device per host.

A task message carries only a job id (JSON); the request, the progress and the result live in the
BELUGA store. Workers (``dunes worker --device cuda:0``, the app in ``celery_app.py``) pin one
device; see there how a dead worker's jobs come back.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import time
from typing import Any

from dunes.config import Settings
from dunes.constants import CPU_QUEUE, QUEUE_PREFIX, device_queue
from dunes.devices import normalize_device_id
from dunes.errors import BrokerUnavailableError, DunesError
from dunes.orchestration.executors.base import WorkerInfo
from dunes.orchestration.executors.celery_app import (
    EXECUTE_TASK,
    HEARTBEAT_TTL_S,
    KEY_WORKERS,
    broker_errors,
    key_done,
    make_app,
)
from dunes.orchestration.health import HealthCheck, Status
from dunes.orchestration.jobs import JobResult
from dunes.orchestration.store import read_result_note


class CeleryExecutor:
    """Send job ids to device queues over Redis; any host's ``dunes worker`` runs them."""

    name = "celery"

    def __init__(self, settings: Settings) -> None:
        import redis

        self.settings = settings
        self.app = make_app(settings)
        self.host = socket.gethostname()
        self.redis = redis.Redis.from_url(
            settings.executor.broker_url, socket_connect_timeout=2, socket_timeout=5
        )
        self._rr = itertools.count()
        self._cache: tuple[float, list[dict[str, Any]]] = (0.0, [])

    def live(self, *, max_age_s: float = 2.0) -> list[dict[str, Any]]:
        """Live workers as their heartbeats describe them (cached for ``max_age_s``)."""
        at, cached = self._cache
        if time.monotonic() - at < max_age_s:
            return cached
        try:
            live = heartbeats(self.redis)
        except broker_errors():
            return []
        self._cache = (time.monotonic(), live)
        return live

    def workers(self) -> list[WorkerInfo]:
        now = time.time()
        return [
            WorkerInfo(
                name=str(beat.get("node") or beat["instance"]),
                device=str(beat.get("device", "")),
                queue=str(beat.get("queue", "")),
                host=str(beat.get("host", "")),
                pid=beat.get("pid"),
                cpus=beat.get("cpus"),
                jobs_run=int(beat.get("jobs", 0)),
                heartbeat_age_s=max(now - float(beat.get("at", now)), 0.0),
            )
            for beat in self.live(max_age_s=0.0)
        ]

    def slots(self) -> list[str]:
        live = self.live()
        gpu = [w["queue"] for w in live if w["queue"] != CPU_QUEUE]
        if gpu:
            return gpu
        cpu = [w["queue"] for w in live if w["queue"] == CPU_QUEUE]
        return cpu or [CPU_QUEUE]

    def route(self) -> str:
        gpu = sorted({w["queue"] for w in self.live() if w["queue"] != CPU_QUEUE})
        if gpu:
            return str(gpu[next(self._rr) % len(gpu)])
        return CPU_QUEUE

    def queue_for(self, device: str) -> str:
        if device.startswith(f"{QUEUE_PREFIX}."):
            return device
        return device_queue(self.host, normalize_device_id(device))

    def dispatch(self, job_id: str, *, device: str, attempt: int = 0) -> None:
        queue = self.queue_for(device)
        try:
            self.app.send_task(
                EXECUTE_TASK,
                args=[job_id, attempt],
                queue=queue,
                task_id=job_id if attempt == 0 else f"{job_id}@{attempt}",
                # Results live in the store; a backend subscription per job would only leak.
                ignore_result=True,
            )
        except broker_errors() as exc:
            raise BrokerUnavailableError(
                f"the broker at {_redact(self.settings.executor.broker_url)} cannot be reached "
                f"({type(exc).__name__}: {exc}); start Redis or set DUNES_EXECUTOR__BROKER_URL"
            ) from exc

    def cancel(self, job_id: str) -> None:
        try:
            self.app.control.revoke(job_id)
        except broker_errors() as exc:
            raise BrokerUnavailableError(
                f"revoke of {job_id} did not reach the broker: {exc}"
            ) from exc

    def wait(self, job_id: str, timeout: float) -> bool | JobResult:
        """Block until the job's worker says it is done (or ``timeout``); its result when the
        mark carries it. The done list is rotated onto itself (BLMOVE, Redis 6.2+), not
        consumed, so every waiter sees it."""
        key = key_done(job_id)
        try:
            got = self.redis.blmove(key, key, max(timeout, 0.01), "RIGHT", "LEFT")  # type: ignore[arg-type]
        except broker_errors():
            time.sleep(min(timeout, 0.05))
            return False
        if got is None:
            return False
        return True if got == b"1" else read_result_note(job_id, got) or True

    def stalled(self, device: str | None) -> str | None:
        live = self.live(max_age_s=0.0)
        queues = sorted({str(w.get("queue", "")) for w in live})
        wanted = self.queue_for(device) if device else None
        if live and (wanted is None or wanted in queues):
            return None
        target = wanted or CPU_QUEUE
        start = "dunes worker --device " + ("cpu" if target == CPU_QUEUE else (device or "cuda:0"))
        there = f"workers serve {', '.join(queues)}" if queues else "no worker is running"
        return (
            f"no live worker consumes queue {target} ({there}; broker "
            f"{_redact(self.settings.executor.broker_url)}); start one: {start}"
        )

    def health(self, *, timeout: float = 1.0) -> list[HealthCheck]:
        broker = check_broker(self.settings)
        return [broker, self._workers_check(broker_ok=broker.status == "ok", timeout=timeout)]

    def _workers_check(self, *, broker_ok: bool, timeout: float) -> HealthCheck:
        if not broker_ok:
            return HealthCheck(
                name="workers",
                status="warn",
                detail="not checked: the broker is unreachable",
                fix="fix the broker first",
            )
        try:
            answering = inspect_workers(self.settings, timeout=timeout)
        except DunesError as exc:
            return HealthCheck(name="workers", status="fail", detail=str(exc), fix="check Redis")
        if not answering:
            return HealthCheck(
                name="workers",
                status="fail",
                detail="no Celery worker answers",
                fix=f"start one per device: dunes worker --device cuda:0 (GPU queue "
                f"{device_queue(socket.gethostname(), 'cuda:0')}) or dunes worker --device cpu "
                f"({CPU_QUEUE})",
            )
        cores = {w.name: w.cpus for w in self.workers() if w.cpus}
        detail = "; ".join(
            f"{node} -> {', '.join(queues)}" + (f" (cores {cores[node]})" if node in cores else "")
            for node, queues in sorted(answering.items())
        )
        return HealthCheck(name="workers", status="ok", detail=detail)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.redis.close()
        with contextlib.suppress(Exception):
            self.app.close()


def heartbeats(client: Any) -> list[dict[str, Any]]:
    """The live workers' heartbeats (queue, device, host, pid, Celery node, cores, jobs run),
    by instance."""
    now = time.time()
    live = []
    for instance, info in client.hgetall(KEY_WORKERS).items():
        data = json.loads(info)
        if now - float(data.get("at", 0)) <= float(data.get("ttl", HEARTBEAT_TTL_S)):
            live.append({"instance": instance.decode(), **data})
    return sorted(live, key=lambda d: d["instance"])


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def inspect_workers(settings: Settings, *, timeout: float = 1.0) -> dict[str, list[str]]:
    """Worker node name -> queues it consumes, as Celery's remote control reports them.

    Raises:
        BrokerUnavailableError: the broker cannot be reached.
    """
    app = make_app(settings)
    try:
        replies = app.control.inspect(timeout=timeout).active_queues() or {}
    except broker_errors() as exc:
        raise BrokerUnavailableError(f"inspect did not reach the broker: {exc}") from exc
    finally:
        with contextlib.suppress(Exception):
            app.close()
    return {node: sorted(q["name"] for q in queues) for node, queues in replies.items()}


#: Oldest Redis that has everything the executor uses (BLMOVE).
MIN_REDIS = (6, 2)


def ping_broker(url: str) -> tuple[float, str]:
    """Round trip of a PING to the Redis at ``url`` in seconds, and the server's version.

    Raises:
        BrokerUnavailableError: it does not answer.
    """
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        start = time.perf_counter()
        client.ping()
        rtt = time.perf_counter() - start
        return rtt, str(client.info("server").get("redis_version", "unknown"))
    except broker_errors() as exc:
        raise BrokerUnavailableError(f"{_redact(url)} does not answer: {exc}") from exc
    finally:
        client.close()


def check_broker(settings: Settings) -> HealthCheck:
    """Redis answers at the broker and result-backend URLs, and is new enough."""
    urls = {settings.executor.broker_url, settings.executor.result_backend}
    try:
        answers = [ping_broker(url) for url in sorted(urls)]
    except DunesError as exc:
        status: Status = "fail" if settings.executor.kind == "celery" else "warn"
        return HealthCheck(
            name="broker",
            status=status,
            detail=f"{exc}" + ("" if status == "fail" else " (only the celery executor needs it)"),
            fix="start Redis (redis-server, or systemctl start redis) or set "
            "DUNES_EXECUTOR__BROKER_URL and DUNES_EXECUTOR__RESULT_BACKEND",
        )
    rtt = max(a[0] for a in answers)
    versions = sorted({a[1] for a in answers})
    detail = f"Redis {', '.join(versions)} answers in {rtt * 1000:.1f} ms"
    old = [v for v in versions if _version(v) < MIN_REDIS]
    if old:
        needed = ".".join(map(str, MIN_REDIS))
        return HealthCheck(
            name="broker",
            status="fail" if settings.executor.kind == "celery" else "warn",
            detail=f"{detail}; the celery executor needs Redis {needed} or newer (BLMOVE)",
            fix=f"upgrade Redis to {needed} or newer",
        )
    return HealthCheck(name="broker", status="ok", detail=detail)


def _version(text: str) -> tuple[int, ...]:
    """'7.0.15' -> (7, 0, 15); what cannot be read counts as new enough."""
    try:
        return tuple(int(part) for part in text.split(".")[:3])
    except ValueError:
        return (99,)
