"""The process-wide threads on which servers (REST, MCP) run blocking service calls.

Two pools: the compute threads (simulations, sweeps, models, drawings), as many as it pays to
run at once, and the I/O threads for what only reads, records or waits (a job's state, lists,
the graph, a wait for a job). Verbs of the second kind are marked ``io_bound``; ``in_thread``
picks the pool, so a server busy with simulations still answers where a job stands.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

#: Threads for compute: at least 4, so that one long simulation does not hold up the next.
COMPUTE_THREADS = max(4, os.cpu_count() or 1)
#: Threads for I/O-bound calls: they mostly wait (on the store, the broker, a job), so many.
IO_THREADS = 32

_pool: ThreadPoolExecutor | None = None
_io_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def io_bound(fn: F) -> F:
    """Mark a verb that only reads, records or waits: servers run it on the I/O threads."""
    setattr(fn, "io_bound", True)  # noqa: B010 - an attribute functions do not declare
    return fn


def compute_pool() -> ThreadPoolExecutor:
    """The threads for the compute of a server process: simulations, sweeps, models, drawings.

    They live as long as the process: with torch loaded, Qiskit crashes (SIGSEGV) in a new thread
    once another thread that ran it has exited, which is what recycling thread pools do.
    """
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=COMPUTE_THREADS, thread_name_prefix="dunes-compute"
            )
        return _pool


def io_pool() -> ThreadPoolExecutor:
    """The threads for ``io_bound`` calls; they too live as long as the process."""
    global _io_pool
    with _lock:
        if _io_pool is None:
            _io_pool = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="dunes-io")
        return _io_pool


async def in_thread(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Await ``fn(*args, **kwargs)`` run on the I/O threads when it is ``io_bound``, else on
    the compute threads."""
    pool = io_pool() if getattr(fn, "io_bound", False) else compute_pool()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, functools.partial(fn, *args, **kwargs))


Progress = Callable[[float, str], None]


async def in_thread_cancellable(
    work: Callable[[threading.Event, Progress], T],
    report: Callable[[float, str], Awaitable[None]],
) -> T:
    """Await ``work(cancel, progress)`` run on the compute threads.

    ``progress(fraction, message)`` reaches ``report`` on the event loop (rising fractions only;
    a report that fails, say because the client left, is dropped and the work goes on).
    Cancelling the await sets ``cancel`` and waits up to 30 s for the work to stop.
    """
    import anyio

    loop = asyncio.get_running_loop()
    cancel = threading.Event()
    finished = threading.Event()
    last = [-1.0]

    def progress(fraction: float, message: str) -> None:
        if fraction <= last[0]:
            return
        last[0] = fraction
        try:
            asyncio.run_coroutine_threadsafe(_awaited(report(fraction, message)), loop).result()
        except Exception:  # the client left; the work goes on to its end
            return

    def body() -> T:
        try:
            return work(cancel, progress)
        finally:
            finished.set()

    try:
        return await in_thread(body)
    except anyio.get_cancelled_exc_class():
        cancel.set()
        with anyio.CancelScope(shield=True):
            await in_thread(io_bound(lambda: finished.wait(30.0)))
        raise


async def _awaited(pending: Awaitable[None]) -> None:
    await pending
