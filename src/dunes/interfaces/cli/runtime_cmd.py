"""``dunes runtime status|start|stop``, and the CLI's calls through the warm runtime."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dunes.interfaces.cli.common import (
    INTERRUPTED,
    console,
    err_console,
    job_progress,
    print_json,
)

if TYPE_CHECKING:
    import httpx

    from dunes.config import Settings
    from dunes.orchestration import JobResult

app = typer.Typer(help="The warm local runtime that keeps models and workers loaded.")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _settings() -> Settings:
    from dunes.config import get_settings

    return get_settings()


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Whether the runtime runs, for how long, and whether it is this version of dunes."""
    from dunes.interfaces import runtime

    found = runtime.status(_settings())
    if as_json:
        print_json(found)
        return
    if not found["running"]:
        console.print("no runtime running (the next dunes run starts one)", highlight=False)
        return
    stale = "" if found["current"] else " [yellow](stale: the next call replaces it)[/]"
    console.print(
        f"runtime pid {found['pid']} up {found['uptime_s']:.0f} s on {found['socket']}{stale}; "
        f"exits after {found['idle_timeout_s']:g} s idle",
        highlight=False,
    )


@app.command()
def start() -> None:
    """Start the runtime now (or keep the current one)."""
    from dunes.interfaces import runtime

    info = runtime.ensure(_settings())
    console.print(f"runtime pid {info.pid} on {info.socket}", highlight=False)


@app.command()
def stop() -> None:
    """Stop the runtime (its workers and models with it)."""
    from dunes.interfaces import runtime

    stopped = runtime.stop(_settings())
    console.print(f"stopped runtime pid {stopped.pid}" if stopped else "no runtime running")


# --- calls through the runtime ---------------------------------------------------------------


def warm_client(settings: Settings, executor: str | None) -> httpx.Client | None:
    """A client of the runtime when the CLI should use one (enabled, the default executor)."""
    if not settings.runtime.enabled or executor not in (None, settings.executor.kind):
        return None
    from dunes.interfaces import runtime

    return runtime.client(runtime.ensure(settings))


def answer(response: httpx.Response) -> Any:
    """The JSON of a successful response; a problem becomes a DunesError with its detail."""
    from dunes.errors import DunesError

    if response.status_code >= 400:
        try:
            problem = response.json()
            detail, field = problem.get("detail", response.text), problem.get("field")
        except ValueError:
            detail, field = response.text, None
        raise DunesError(detail, field=field)
    return response.json()


def run_job(
    http: httpx.Client, request: dict[str, Any], *, timeout: float | None, follow: bool
) -> JobResult:
    """Submit a job to the runtime, show its steps, return its result; Ctrl-C cancels it."""
    from dunes.errors import JobError
    from dunes.orchestration import JobResult

    started = time.monotonic()
    job_id = answer(http.post("/v1/jobs", json=request))["job_id"]
    try:
        with job_progress(disable=not follow) as progress:
            bar = progress.add_task(f"job {job_id[:8]} queued", total=1.0)
            while True:
                job = answer(http.get(f"/v1/jobs/{job_id}"))
                step = job.get("step") or job["status"]
                progress.update(bar, completed=job.get("progress") or 0.0, description=step)
                if job["status"] in ("succeeded", "failed", "cancelled"):
                    break
                if timeout is not None and time.monotonic() - started >= timeout:
                    raise JobError(
                        f"job {job_id} is still {job['status']} after {timeout:g} s; follow it "
                        f"with `dunes jobs wait {job_id[:12]}`"
                    )
                time.sleep(0.05)
    except KeyboardInterrupt:
        stopped = answer(http.delete(f"/v1/jobs/{job_id}"))
        where = f" at step '{stopped['step']}'" if stopped.get("step") else ""
        err_console.print(f"cancelled: job {job_id} ({stopped['status']}{where})")
        raise typer.Exit(INTERRUPTED) from None
    return JobResult.model_validate(answer(http.get(f"/v1/jobs/{job_id}/result")))
