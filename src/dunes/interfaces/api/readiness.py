"""Readiness probes: the store, and for the Celery executor the broker and its workers."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dunes.interfaces.api.deps import Gateway

log = logging.getLogger("dunes.api")

CheckResult = tuple[str, bool, str]


def check_store(gateway: Gateway) -> CheckResult:
    """The BELUGA store answers a query."""
    try:
        from dunes.beluga import open_store

        store = open_store(gateway.settings)
        store.list_jobs(limit=1)
    except Exception as exc:
        log.warning("readiness: store not reachable", exc_info=True)
        return "store", False, f"not reachable: {type(exc).__name__}"
    return "store", True, "reachable"


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


def readiness_checks(gateway: Gateway) -> list[CheckResult]:
    """Every check that applies to the executor in use."""
    checks = [check_store(gateway)]
    if gateway.settings.executor.kind == "celery":
        checks.append(check_broker(gateway))
    return checks
