"""The process-wide threads on which servers (REST, MCP) run blocking service calls."""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def compute_pool() -> ThreadPoolExecutor:
    """The threads for simulations, model inference and store calls of a server process.

    They live as long as the process: with torch loaded, Qiskit crashes (SIGSEGV) in a new thread
    once another thread that ran it has exited, which is what recycling thread pools do.
    """
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=max(4, os.cpu_count() or 1), thread_name_prefix="dunes-compute"
            )
        return _pool


async def in_thread(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Await ``fn(*args, **kwargs)`` run on the compute threads."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(compute_pool(), functools.partial(fn, *args, **kwargs))
