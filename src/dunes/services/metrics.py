"""Prometheus metrics of a dunes server, every name prefixed ``dunes_``.

HTTP requests are counted and timed by the server's middleware; jobs by state, queue depth and
device utilisation are read when ``/metrics`` is scraped; job latency is observed once per job
when the server sees it finish.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from dunes.orchestration import Job

log = logging.getLogger("dunes.metrics")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)

JobCounter = Callable[[], Mapping[str, int]]


class Metrics:
    """One registry per app, so several apps in one process do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "dunes_http_requests",
            "HTTP requests handled by the gateway.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "dunes_http_request_duration_seconds",
            "Time to the end of the response.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.job_seconds = Histogram(
            "dunes_job_duration_seconds",
            "Job latency from submission to a final state, by kind and state.",
            ["kind", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.simulations = Counter(
            "dunes_simulations",
            "Synchronous simulations served by /v1/simulate, by device.",
            ["device"],
            registry=self.registry,
        )
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_lock = threading.Lock()
        self._state = _StateCollector()
        self.registry.register(self._state)

    def watch_jobs(self, count_jobs: JobCounter) -> None:
        """Report ``count_jobs()`` (state -> number of jobs) at each scrape."""
        self._state.count_jobs = count_jobs

    def observe_job(self, job: Job) -> None:
        """Record a finished job's latency, once per job (unfinished ones are left for later)."""
        if not job.done or job.created_at is None or job.finished_at is None:
            return
        with self._seen_lock:
            if job.job_id in self._seen:
                return
            self._seen[job.job_id] = None
            while len(self._seen) > 100_000:
                self._seen.popitem(last=False)
        seconds = (job.finished_at - job.created_at).total_seconds()
        self.job_seconds.labels(kind=job.kind, status=job.status).observe(max(seconds, 0.0))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Jobs by state, queue depth and per-device utilisation, read at scrape time."""

    def __init__(self) -> None:
        self.count_jobs: JobCounter | None = None

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        if self.count_jobs is not None:
            try:
                counts = dict(self.count_jobs())
            except Exception:  # a scrape must not fail because the store is down
                log.warning("could not count jobs for /metrics", exc_info=True)
                counts = None
            if counts is not None:
                jobs = GaugeMetricFamily("dunes_jobs", "Jobs by state.", labels=["state"])
                for state, number in sorted(counts.items()):
                    jobs.add_metric([state], number)
                yield jobs
                depth = GaugeMetricFamily(
                    "dunes_queue_depth", "Jobs waiting for a worker (state queued)."
                )
                depth.add_metric([], counts.get("queued", 0))
                yield depth
        yield from _device_metrics()


def _device_metrics() -> Iterator[Metric]:
    from dunes.devices import discover

    inventory = discover()
    util = GaugeMetricFamily(
        "dunes_device_utilization_ratio",
        "Busy share of each GPU (0..1) where NVML reports it.",
        labels=["device", "name"],
    )
    free = GaugeMetricFamily(
        "dunes_device_memory_free_bytes", "Free memory per device.", labels=["device", "name"]
    )
    total = GaugeMetricFamily(
        "dunes_device_memory_total_bytes", "Total memory per device.", labels=["device", "name"]
    )
    for device in inventory.devices:
        if device.utilization is not None:
            util.add_metric([device.id, device.name], device.utilization)
        free.add_metric([device.id, device.name], device.memory_free)
        total.add_metric([device.id, device.name], device.memory_total)
    yield util
    yield free
    yield total
