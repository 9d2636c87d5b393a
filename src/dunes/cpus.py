"""CPU sets: which cores a worker process runs on.

Several CPU workers on one host each get a share of its cores of their own (``sched_setaffinity``),
so the scheduler never moves one worker onto the core where another is running and a worker that
wakes (a reply from Redis, the end of a simulation) finds its core free. Lists are written as
Linux writes them (``0-3,6``), as in ``taskset -c`` and ``/proc/<pid>/status``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from dunes.errors import InvalidInputError

#: The variable that hands a worker process its CPU set (a cpu list).
ENV_CPUS = "DUNES_WORKER_CPUS"


def allowed_cpus() -> list[int]:
    """The cores this process may run on, in order."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def parse_cpu_list(text: str, *, field: str = "cpus") -> list[int]:
    """``"0-3,6"`` -> ``[0, 1, 2, 3, 6]``; every core must be one this process may run on.

    Raises:
        InvalidInputError: malformed, empty, or naming a core that is not available here.
    """
    cpus: set[int] = set()
    for part in str(text).replace(" ", "").split(","):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise InvalidInputError(
                f"{field} {text!r} is not a cpu list: expected core numbers and ranges such as "
                "'0', '0-3' or '0-3,6'",
                field=field,
            )
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise InvalidInputError(f"{field}: range {part!r} runs backwards", field=field)
        cpus.update(range(first, last + 1))
    allowed = allowed_cpus()
    missing = sorted(cpus - set(allowed))
    if missing:
        raise InvalidInputError(
            f"{field} {text!r} names core(s) {format_cpu_list(missing)} that this process "
            f"cannot use; available: {format_cpu_list(allowed)}",
            field=field,
        )
    return sorted(cpus)


def format_cpu_list(cpus: Iterable[int]) -> str:
    """``[0, 1, 2, 3, 6]`` -> ``"0-3,6"``."""
    ordered = sorted(set(cpus))
    runs: list[str] = []
    start = prev = None
    for cpu in [*ordered, None]:
        if cpu is not None and prev is not None and cpu == prev + 1:
            prev = cpu
            continue
        if start is not None:
            runs.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = cpu
    return ",".join(runs)


def share(index: int, count: int, cpus: list[int] | None = None) -> list[int]:
    """The ``index``-th of ``count`` workers' share of ``cpus`` (default: the allowed ones):
    contiguous, disjoint and as even as can be; with more workers than cores, workers share
    cores round-robin."""
    cpus = allowed_cpus() if cpus is None else sorted(cpus)
    if count <= 1:
        return cpus
    if count >= len(cpus):
        return [cpus[index % len(cpus)]]
    base, extra = divmod(len(cpus), count)
    start = index * base + min(index, extra)
    return cpus[start : start + base + (1 if index < extra else 0)]


def pin(cpus: list[int]) -> bool:
    """Run this process, every thread it has and every thread it starts later, on ``cpus``.

    Returns False where the platform has no CPU affinity (then nothing changes).
    """
    if not hasattr(os, "sched_setaffinity"):
        return False
    tasks = Path("/proc/self/task")
    threads = [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [0]
    for tid in threads:
        try:
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:  # a thread that ended meanwhile
            continue
    return True


def pin_from_env() -> list[int] | None:
    """Apply the CPU set a parent handed over in ``DUNES_WORKER_CPUS``, if any."""
    text = os.environ.get(ENV_CPUS)
    if not text:
        return None
    cpus = parse_cpu_list(text, field=ENV_CPUS)
    pin(cpus)
    return cpus
