"""Names shared between processes: queue names, key prefixes, environment variables."""

from __future__ import annotations

from typing import Literal, get_args

ENV_PREFIX = "DUNES_"
CONFIG_FILE_ENV = "DUNES_CONFIG"
DEFAULT_CONFIG_FILE = "dunes.toml"

QUEUE_PREFIX = "dunes"
CPU_QUEUE = f"{QUEUE_PREFIX}.cpu"
REDIS_KEY_PREFIX = "dunes:"
CELERY_APP_NAME = "dunes"

#: The four agent roles, in pipeline order.
Role = Literal["planner", "extraction", "validation", "synthesis"]
ROLES: tuple[Role, ...] = get_args(Role)
#: Where a job stands; the last three are final.
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JOB_STATUSES: tuple[JobStatus, ...] = get_args(JobStatus)
TERMINAL_STATUSES: frozenset[JobStatus] = frozenset({"succeeded", "failed", "cancelled"})
#: Which way a lineage query follows the graph's relations.
Direction = Literal["upstream", "downstream", "both"]
#: Simulation methods; ``auto`` lets dunes choose per circuit.
MethodName = Literal["auto", "statevector", "density_matrix", "stabilizer", "matrix_product_state"]
#: Floating-point precision of a simulation.
Precision = Literal["double", "single"]
#: How a device is named, everywhere: ``auto``, ``cpu``, ``gpu`` (the best one), ``cuda:N``.
DEVICE_FORMS = "auto, cpu, gpu or cuda:N"
#: Formats the provenance graph exports to and imports from.
GraphFormat = Literal["json", "graphml", "prov", "yaml"]
GRAPH_FORMATS: tuple[GraphFormat, ...] = get_args(GraphFormat)
#: The executors: in this process's children, or Celery workers over Redis.
ExecutorKind = Literal["local", "celery"]
EXECUTORS: tuple[ExecutorKind, ...] = get_args(ExecutorKind)


def device_queue(host: str, device: str) -> str:
    """Queue consumed by the worker pinned to ``device`` on ``host`` (``cpu`` is shared)."""
    if device == "cpu":
        return CPU_QUEUE
    return f"{QUEUE_PREFIX}.{host}.{device.replace(':', '')}"
