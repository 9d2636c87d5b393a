"""Readiness probes: the store, and per executor the broker and the workers."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dunes.interfaces.api.deps import Gateway

log = logging.getLogger("dunes.api")

CheckResult = tuple[str, bool, str]


def check_store(gateway: Gateway) -> CheckResult:
    """The BELUGA store answers a query."""
    try:
        store = gateway.orchestrator().store
        store.list_jobs(limit=1)
    except Exception as exc:
        log.warning("readiness: store not reachable", exc_info=True)
        return "store", False, f"not reachable: {type(exc).__name__}"
    return "store", True, f"{store.dialect} reachable"


def check_broker(gateway: Gateway) -> CheckResult:
    """Redis answers PING at ``executor.broker_url``."""
    import redis

    try:
        client = redis.Redis.from_url(
            gateway.settings.executor.broker_url, socket_timeout=1.0, socket_connect_timeout=1.0
        )
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        log.warning("readiness: broker not reachable", exc_info=True)
        return "broker", False, f"not reachable: {type(exc).__name__}"
    return "broker", True, "reachable"


def check_workers(gateway: Gateway) -> CheckResult:
    """Celery: some worker's heartbeat is fresh. Local: the started workers are alive."""
    try:
        executor: Any = gateway.orchestrator().executor
        if executor.name == "celery":
            live = executor.workers()
            if not live:
                return "workers", False, "no live worker (start one with `dunes worker`)"
            queues = sorted({str(w.get("queue")) for w in live})
            return "workers", True, f"{len(live)} live on {', '.join(queues)}"
        pids: dict[str, list[int]] = executor.worker_pids()
        if not pids:
            return "workers", True, "local workers start with the first job"
        idle = [device for device, alive in pids.items() if not alive]
        if idle:
            return "workers", False, f"no live worker for {', '.join(sorted(idle))}"
        count = sum(len(alive) for alive in pids.values())
        return "workers", True, f"{count} local worker(s) alive"
    except Exception as exc:
        log.warning("readiness: workers not reachable", exc_info=True)
        return "workers", False, f"not reachable: {type(exc).__name__}"


def executor_name(gateway: Gateway) -> str:
    try:
        return str(gateway.orchestrator().executor.name)
    except Exception:
        log.warning("readiness: executor not available", exc_info=True)
        return gateway.settings.executor.kind


def readiness_checks(gateway: Gateway) -> tuple[str, list[CheckResult]]:
    """The executor in use and every check that applies to it."""
    name = executor_name(gateway)
    checks = [check_store(gateway)]
    if name == "celery":
        checks.append(check_broker(gateway))
    checks.append(check_workers(gateway))
    return name, checks
