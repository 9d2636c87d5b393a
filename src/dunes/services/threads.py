"""The process-wide threads on which servers (REST, MCP) run blocking service calls."""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Awaitable, Callable
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
            await in_thread(finished.wait, 30.0)
        raise


async def _awaited(pending: Awaitable[None]) -> None:
    await pending
