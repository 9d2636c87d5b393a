"""Names shared between processes: queue names, key prefixes, environment variables."""

from __future__ import annotations

ENV_PREFIX = "DUNES_"
CONFIG_FILE_ENV = "DUNES_CONFIG"
DEFAULT_CONFIG_FILE = "dunes.toml"

QUEUE_PREFIX = "dunes"
CPU_QUEUE = f"{QUEUE_PREFIX}.cpu"
REDIS_KEY_PREFIX = "dunes:"
CELERY_APP_NAME = "dunes"

ROLES = ("planner", "extraction", "validation", "synthesis")


def device_queue(host: str, device: str) -> str:
    """Queue consumed by the worker pinned to ``device`` on ``host`` (``cpu`` is shared)."""
    if device == "cpu":
        return CPU_QUEUE
    return f"{QUEUE_PREFIX}.{host}.{device.replace(':', '')}"
