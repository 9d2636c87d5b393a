"""Blocking work run from an event loop: progress reaches the loop in order, cancelling the await
stops the work, and both survive a caller that has gone."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from dunes.services import graph as graph_service
from dunes.services import jobs as job_service
from dunes.services.threads import (
    COMPUTE_THREADS,
    Progress,
    compute_pool,
    in_thread,
    in_thread_cancellable,
    io_bound,
)


async def test_in_thread_runs_on_the_one_lasting_pool() -> None:
    name = await in_thread(lambda: threading.current_thread().name)
    assert name.startswith("dunes-compute")
    assert compute_pool() is compute_pool()


async def test_progress_is_relayed_rising_only_and_the_result_returned() -> None:
    seen: list[tuple[float, str]] = []

    async def report(fraction: float, message: str) -> None:
        seen.append((fraction, message))

    def work(cancel: threading.Event, progress: Progress) -> str:
        for fraction in (0.1, 0.5, 0.3, 0.5, 1.0):
            progress(fraction, f"at {fraction}")
        return "done"

    assert await in_thread_cancellable(work, report) == "done"
    assert seen == [(0.1, "at 0.1"), (0.5, "at 0.5"), (1.0, "at 1.0")]


async def test_cancelling_the_await_sets_cancel_and_waits_for_the_work() -> None:
    stopped = threading.Event()

    async def report(fraction: float, message: str) -> None:
        return None

    def work(cancel: threading.Event, progress: Progress) -> None:
        while not cancel.wait(0.01):
            progress(time.monotonic() % 1, "spinning")
        stopped.set()

    task = asyncio.ensure_future(in_thread_cancellable(work, report))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stopped.is_set()  # the await returned only once the work had seen the cancel


async def test_a_failing_report_does_not_stop_the_work() -> None:
    async def report(fraction: float, message: str) -> None:
        raise ConnectionError("client left")

    def work(cancel: threading.Event, progress: Progress) -> int:
        progress(0.5, "half")
        return 42

    assert await in_thread_cancellable(work, report) == 42


async def test_io_bound_calls_answer_while_every_compute_thread_is_busy() -> None:
    release = threading.Event()
    busy = [asyncio.ensure_future(in_thread(release.wait, 30)) for _ in range(COMPUTE_THREADS)]
    await asyncio.sleep(0.1)
    try:
        where = await asyncio.wait_for(in_thread(io_bound(lambda: threading.current_thread())), 5)
        assert where.name.startswith("dunes-io")
        computed = asyncio.ensure_future(in_thread(lambda: "computed"))
        await asyncio.sleep(0.2)
        assert not computed.done()  # compute work waits for a compute thread
    finally:
        release.set()
    assert await computed == "computed"
    await asyncio.gather(*busy)


def test_what_followers_poll_runs_on_the_io_threads() -> None:
    polled = [
        job_service.get_job,
        job_service.job_result,
        job_service.wait_for_job,
        job_service.list_jobs,
        job_service.JobWatch.look,
        graph_service.lineage,
    ]
    assert all(getattr(verb, "io_bound", False) for verb in polled)
    assert not getattr(graph_service.search_graph, "io_bound", False)  # it runs a model
