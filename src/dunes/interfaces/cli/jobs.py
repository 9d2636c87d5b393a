"""``dunes run``, ``dunes jobs list|show|cancel|wait``, ``dunes worker`` and ``dunes doctor``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.table import Table

from dunes.constants import ExecutorKind, JobStatus
from dunes.interfaces.cli.common import (
    INTERRUPTED,
    JsonFlag,
    console,
    err_console,
    job_progress,
    lazy_import,
    print_json,
    services,
)

if TYPE_CHECKING:
    from dunes.orchestration import Job, JobResult
    from dunes.services import health as health_service
    from dunes.services import jobs as job_service
else:
    health_service = lazy_import("dunes.services.health")
    job_service = lazy_import("dunes.services.jobs")


def get_settings() -> Any:
    from dunes.config import get_settings as settings

    return settings()


app = typer.Typer(help="Jobs in the BELUGA store: list, show, cancel, wait.")

ExecutorOption = Annotated[
    ExecutorKind | None, typer.Option("--executor", "-e", help="Default: executor.kind.")
]


def run(
    task: Annotated[
        str, typer.Argument(help="The task in plain words, e.g. 'Design a 4-qubit GHZ state'.")
    ],
    executor: ExecutorOption = None,
    shots: Annotated[int, typer.Option(help="Samples to draw; 0 returns the state only.")] = 0,
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible sampling.")] = None,
    device: Annotated[str | None, typer.Option(help="Pin to 'cpu' or 'cuda:N'.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait for the result.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a task end to end: plan, circuit, simulation, validation, report; stored in BELUGA."""
    request = {"task": task, "shots": shots, "seed": seed, "device": device}
    with _jobs(executor) as jobs:  # the warm runtime when there is one: models already loaded
        started = time.monotonic()
        job_id = jobs.submit(request)
        try:
            result, step = _follow(jobs, job_id, timeout=timeout, started=started, show=not as_json)
        except KeyboardInterrupt:
            _cancelled(jobs.cancel(job_id))
    _finish(result, as_json=as_json, step=step)


@contextmanager
def _jobs(executor: str | None) -> Iterator[job_service.JobFollower]:
    """Jobs through the warm runtime when it serves this executor, else in this process."""
    from dunes.services.runtime import warm_client

    warm = warm_client(get_settings(), executor)
    if warm is not None:
        with warm:
            yield warm
        return
    with services(executor) as held:
        yield job_service.LocalJobs(held)


def _follow(
    jobs: job_service.JobFollower,
    job_id: str,
    *,
    timeout: float | None,
    started: float,
    show: bool,
) -> tuple[JobResult, str | None]:
    """Follow a job to its end: its result and the step it ended at. Its steps show (and,
    while it waits, why) unless not ``show``; past ``timeout`` s an error says where it stands."""
    with job_progress(disable=not show) as progress:
        bar = progress.add_task(f"job {job_id[:8]} queued", total=1.0)
        warned = None

        def update(look: job_service.JobUpdate) -> None:
            nonlocal warned
            for event in look.events:
                said = f"{event.step}: {event.message}" if event.message else event.step
                progress.update(bar, completed=event.progress, description=said)
            if look.waiting and look.waiting != warned:
                progress.console.print(f"waiting: {look.waiting}", highlight=False)
                warned = look.waiting
            if look.waiting:
                waited = time.monotonic() - started
                progress.update(bar, description=f"queued {waited:.0f} s: no worker")

        return job_service.follow_to_end(
            jobs, job_id, timeout=timeout, started=started, on_update=update
        )


def _cancelled(stopped: Job) -> NoReturn:
    """Say where the job stood when Ctrl-C cancelled it, and exit 130."""
    where = f" at step '{stopped.step}'" if stopped.step else ""
    err_console.print(f"cancelled: job {stopped.job_id} ({stopped.status}{where})")
    raise typer.Exit(INTERRUPTED) from None


def _finish(result: JobResult, *, as_json: bool, step: str | None = None) -> None:
    """Print the result; exit 1 (saying why) unless the job succeeded."""
    if as_json:
        print_json(result)
    else:
        render_job_result(result)
    job_service.require_success(result, step=step)


def render_job_result(result: JobResult) -> None:
    """Plan, circuit, statevector, verdicts and the job id, for people."""
    from dunes.interfaces.cli.quantum import render_result

    plan = result.plan or {}
    if plan:
        console.print(
            f"[bold]plan[/]: {plan.get('family') or '(given circuit)'} "
            f"(confidence {float(plan.get('confidence') or 0):.2f}) — {plan.get('reason', '')}",
            highlight=False,
            soft_wrap=True,
        )
    if result.circuit and result.simulation is None:
        console.print(f"[bold]circuit[/]: {result.circuit}", highlight=False, soft_wrap=True)
    if result.simulation is not None:
        render_result(result.simulation)
    for sim in result.results or []:
        console.print(f"{sim.circuit}: {sim.counts or sim.probabilities}", highlight=False)
    if result.llm_outputs:
        table = Table("role", "device", "model", "verdict", title="agents")
        for role, output in result.llm_outputs.items():
            table.add_row(role, output.device or "", output.model or "", output.verdict(role))
        console.print(table)
    if result.report and result.report.get("text"):
        console.print(result.report["text"], highlight=False, soft_wrap=True)
    colour = "green" if result.status == "succeeded" else "red"
    console.print(f"job [bold]{result.job_id}[/] [{colour}]{result.status}[/]", highlight=False)


def _job_row(job: Job) -> list[str]:
    created = job.created_at.strftime("%Y-%m-%d %H:%M:%S") if job.created_at else ""
    return [
        job.job_id,
        job.kind,
        job.status,
        f"{job.progress:.0%}",
        job.step or "",
        job.device or "",
        created,
        (job.error or "")[:60],
    ]


@app.command("list")
def list_jobs(
    status: Annotated[JobStatus | None, typer.Option(help="Only jobs with this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Jobs, newest first."""
    with services() as held:
        jobs = job_service.list_jobs(services=held, status=status, limit=limit, offset=offset).jobs
    if as_json:
        print_json([j.model_dump(mode="json") for j in jobs])
        return
    table = Table("id", "kind", "status", "progress", "step", "device", "created", "error")
    for job in jobs:
        table.add_row(*_job_row(job))
    console.print(table)


@app.command()
def show(
    job_id: Annotated[str, typer.Argument(help="The job id or a unique prefix of it.")],
    as_json: JsonFlag = False,
) -> None:
    """A job's status, its events and, once done, its result."""
    with services() as held:
        job = job_service.get_job(services=held, job_id=job_id)
        events = job_service.job_events(services=held, job_id=job.job_id)
        result = (
            job_service.job_result(services=held, job_id=job.job_id, origin="local")
            if job.done
            else None
        )
    if as_json:
        print_json(
            {
                "job": job.model_dump(mode="json"),
                "events": [e.model_dump(mode="json") for e in events],
                "result": result.model_dump(mode="json") if result else None,
            }
        )
        return
    table = Table("id", "kind", "status", "progress", "step", "device", "created", "error")
    table.add_row(*_job_row(job))
    console.print(table)
    for event in events:
        console.print(
            f"{event.seq:>3} {event.step:<16} {event.progress:>4.0%} {event.message}",
            highlight=False,
        )
    if result is not None:
        render_job_result(result)


@app.command()
def cancel(
    job_id: Annotated[str, typer.Argument(help="The job id or a unique prefix of it.")],
    executor: ExecutorOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Cancel a queued or running job (a running one stops at its next step)."""
    with services(executor) as held:
        job = job_service.cancel_job(services=held, job_id=job_id)
    if as_json:
        print_json(job)
        return
    console.print(f"job {job.job_id} {job.status}", highlight=False)


@app.command()
def wait(
    job_id: Annotated[str, typer.Argument(help="The job id or a unique prefix of it.")],
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Wait for a job to finish and print its result (exit 1 unless it succeeded)."""
    with services() as held:
        jobs = job_service.LocalJobs(held)
        full = job_service.resolve_job_id(services=held, job_id=job_id)
        started = time.monotonic()
        result, step = _follow(jobs, full, timeout=timeout, started=started, show=not as_json)
    _finish(result, as_json=as_json, step=step)


def worker(
    device: Annotated[
        str, typer.Option(help="'cpu' or 'cuda:N' (visible index on this host).")
    ] = "cpu",
    concurrency: Annotated[int, typer.Option(help="Jobs at once (CPU only; GPUs run one).")] = 1,
    threads: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="CPU threads for the simulator and models (OMP_NUM_THREADS); "
            "give each of several CPU workers on a host its share of the cores.",
        ),
    ] = None,
    cpus: Annotated[
        str | None,
        typer.Option(
            help="Cores to run on, as a cpu list ('0-3,6'; one thread each unless --threads): "
            "several CPU workers on a host each get cores of their own.",
        ),
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Run a Celery worker pinned to one device, consuming that device's queue on this host."""
    from dunes.orchestration.executors.celery_worker import run_worker

    run_worker(
        get_settings(),
        device,
        concurrency=concurrency,
        threads=threads,
        cpus=cpus,
        loglevel=loglevel,
    )


def doctor(
    executor: ExecutorOption = None,
    as_json: JsonFlag = False,
    broker_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for workers to answer.")
    ] = 1.0,
) -> None:
    """Check broker, workers, store, Aer, GPUs, models and memory; each problem says what to do."""
    with services(executor) as held:
        checks = health_service.doctor(services=held, timeout=broker_timeout)
    if as_json:
        print_json([c.model_dump(mode="json") for c in checks])
    else:
        marks = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}
        for check in checks:
            console.print(
                f"{marks[check.status]:>4} {check.name}: {check.detail}",
                highlight=False,
                soft_wrap=True,
            )
            if check.status != "ok" and check.fix:
                console.print(f"       fix: {check.fix}", highlight=False, soft_wrap=True)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(1)
