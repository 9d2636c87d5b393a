"""``dunes run``, ``dunes jobs list|show|cancel|wait``, ``dunes worker`` and ``dunes doctor``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from dunes.constants import ExecutorKind, JobStatus
from dunes.errors import JobError
from dunes.interfaces.cli.common import (
    INTERRUPTED,
    console,
    err_console,
    job_progress,
    lazy_import,
    print_json,
    services,
)

if TYPE_CHECKING:
    from dunes.orchestration import Job, JobResult
    from dunes.services import Services
    from dunes.services import health as health_service
    from dunes.services import jobs as job_service
else:
    health_service = lazy_import("dunes.services.health")
    job_service = lazy_import("dunes.services.jobs")


def get_settings() -> Any:
    from dunes.config import get_settings as settings

    return settings()


app = typer.Typer(help="Jobs in the BELUGA store: list, show, cancel, wait.")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
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
    from dunes.interfaces.cli.runtime_cmd import run_job, warm_client

    request = {"task": task, "shots": shots, "seed": seed, "device": device}
    http = warm_client(get_settings(), executor)
    if http is not None:  # the warm runtime: models and workers already loaded
        with http:
            result = run_job(http, request, timeout=timeout, follow=not as_json)
        _finish(result, as_json=as_json)
        return
    with services(executor) as held:
        started = time.monotonic()
        job = job_service.submit_job(services=held, request=request, origin="local")
        try:
            if not as_json:
                _follow(held, job.job_id, timeout=timeout, started=started)
            result = _wait(held, job.job_id, timeout=timeout, started=started)
        except KeyboardInterrupt:
            stopped = job_service.cancel_job(services=held, job_id=job.job_id)
            where = f" at step '{stopped.step}'" if stopped.step else ""
            err_console.print(f"cancelled: job {job.job_id} ({stopped.status}{where})")
            raise typer.Exit(INTERRUPTED) from None
    _finish(result, as_json=as_json)


def _finish(result: JobResult, *, as_json: bool) -> None:
    if as_json:
        print_json(result)
    else:
        render_job_result(result)
    if result.status != "succeeded":
        raise JobError(
            f"job {result.job_id} {result.status}: {result.error or 'no reason recorded'}"
        )


def _wait(
    held: Services, job_id: str, *, timeout: float | None, started: float | None = None
) -> JobResult:
    """The job's result; past ``timeout`` s (counted from ``started``) an error that says where
    the job stands and, when no worker will take it, why."""
    began = time.monotonic() if started is None else started
    left = None if timeout is None else max(timeout - (time.monotonic() - began), 0.01)
    result = job_service.wait_for_job(services=held, job_id=job_id, timeout=left, origin="local")
    if result is None:
        job = job_service.get_job(services=held, job_id=job_id)
        where = f" at step '{job.step}'" if job.step else ""
        if job.status == "queued":
            why = job_service.why_waiting(services=held, job=job)
            where = f" ({why})" if why else " (no worker has taken it yet)"
        waited = time.monotonic() - began
        raise JobError(
            f"job {job_id} is still {job.status}{where} after {waited:.0f} s; it stays queued: "
            f"follow it with `dunes jobs wait {job_id[:12]} --timeout SECONDS` or cancel it with "
            f"`dunes jobs cancel {job_id[:12]}`"
        )
    return result


#: A job queued this long gets a look at whether any worker will take it.
STALL_CHECK_S = 2.0


def _follow(
    held: Services, job_id: str, *, timeout: float | None, started: float | None = None
) -> None:
    """Show the job's steps as they happen (and, while it waits, why), until it ends or
    ``timeout`` s pass."""
    started = time.monotonic() if started is None else started
    seq, warned, last_check = 0, None, 0.0
    with job_progress() as progress:
        bar = progress.add_task(f"job {job_id[:8]} queued", total=1.0)
        while True:
            look = job_service.poll_job(services=held, job_id=job_id, after_seq=seq)
            for event in look.events:
                seq = event.seq
                progress.update(
                    bar, completed=event.progress, description=f"{event.step}: {event.message}"
                )
            if look.job.done:
                return
            now = time.monotonic()
            if timeout is not None and now - started >= timeout:
                return  # _wait says where it stands
            waiting = look.job.status == "queued" and now - started >= STALL_CHECK_S
            if waiting and now - last_check >= 1.0:
                last_check = now
                reason = job_service.why_waiting(services=held, job=look.job)
                if reason and reason != warned:
                    progress.console.print(f"waiting: {reason}", highlight=False)
                    warned = reason
                if reason:
                    progress.update(bar, description=f"queued {now - started:.0f} s: no worker")
            time.sleep(0.1 if now - started < 5 else 0.25)


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
            table.add_row(
                role, output.device or "", output.model or "", _verdict(role, output.result)
            )
        console.print(table)
    if result.report and result.report.get("text"):
        console.print(result.report["text"], highlight=False, soft_wrap=True)
    colour = "green" if result.status == "succeeded" else "red"
    console.print(f"job [bold]{result.job_id}[/] [{colour}]{result.status}[/]", highlight=False)


def _verdict(role: str, result: Any) -> str:
    if not isinstance(result, dict):
        return ""
    if role == "planner":
        if not result.get("family"):
            return "(given circuit)"
        return f"{result['family']} ({float(result.get('confidence') or 0):.2f})"
    if role == "extraction":
        found = {k: result.get(k) for k in ("num_qubits", "shots", "marked") if result.get(k)}
        return ", ".join(f"{k}={v}" for k, v in found.items())
    if role == "validation":
        parts = []
        for stage in ("circuit", "result"):
            data = result.get(stage) or {}
            if data:
                parts.append(f"{stage}: {data.get('verdict', '')}")
        return "; ".join(parts)
    if role == "synthesis":
        return str(result.get("verdict", ""))
    return ""


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
        result = _wait(
            held, job_service.resolve_job_id(services=held, job_id=job_id), timeout=timeout
        )
    if as_json:
        print_json(result)
    else:
        render_job_result(result)
    if result.status != "succeeded":
        raise JobError(f"job {job_id} {result.status}: {result.error or 'no reason recorded'}")


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
