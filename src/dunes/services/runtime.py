"""The warm local runtime: one ``dunes serve`` per user and data directory, on a Unix socket.

This module starts, finds, checks and stops it, and is its client; the process itself is
``dunes.interfaces.runtime`` (the REST app on the socket).

``dunes run`` and ``dunes agents plan`` would otherwise start a worker and load the models on
every call (the reload-per-task the seed was faulted for). The CLI starts this runtime on first
use, in the background; later calls find models and workers loaded. Like the Gradle or Bazel
daemons it is:

- **private**: its socket lives in a directory only its owner can open (mode 0700, the socket
  0600), and speaks the REST API with the gateway's own checks;
- **versioned**: a fingerprint of the installed code and the effective settings; a CLI that
  finds a runtime with another fingerprint stops it and starts its own, so an upgraded dunes
  never talks to a stale one;
- **short-lived when idle**: it exits after ``runtime.idle_timeout_s`` without requests or
  running jobs; ``dunes runtime stop`` stops it at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from dunes.config import Settings
    from dunes.errors import JobError
    from dunes.orchestration import Job, JobResult
    from dunes.services import Services
    from dunes.services.jobs import JobUpdate

#: Unix socket paths longer than this do not fit ``sockaddr_un``.
MAX_SOCKET_PATH = 100
START_TIMEOUT_S = 60.0
BASE_URL = "http://localhost"


@dataclass(frozen=True)
class RuntimeInfo:
    """What ``runtime.json`` says about a running runtime."""

    pid: int
    fingerprint: str
    socket: str
    started_at: float

    @property
    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def runtime_dir(settings: Settings) -> Path:
    """The owner-only directory of the runtime's socket and state."""
    preferred = settings.data_dir.resolve() / "runtime"
    if len(str(preferred / "dunes.sock")) <= MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(settings.data_dir.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"dunes-{os.getuid()}-{digest}"


def fingerprint(settings: Settings) -> str:
    """The installed code (every module's size and mtime) and the effective settings."""
    package = Path(__file__).resolve().parents[1]  # the dunes package
    digest = hashlib.sha256(settings.model_dump_json().encode())
    for path in sorted(package.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


def read_info(settings: Settings) -> RuntimeInfo | None:
    try:
        data = json.loads((runtime_dir(settings) / "runtime.json").read_text())
        return RuntimeInfo(**data)
    except (OSError, ValueError, TypeError):
        return None


def client(info: RuntimeInfo, *, timeout: float = 300.0) -> httpx.Client:
    import httpx

    transport = httpx.HTTPTransport(uds=info.socket)
    return httpx.Client(transport=transport, base_url=BASE_URL, timeout=timeout)


def healthy(info: RuntimeInfo) -> bool:
    import httpx

    try:
        with client(info, timeout=2.0) as http:
            return http.get("/healthz").status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    with (directory / "lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure(settings: Settings) -> RuntimeInfo:
    """A running runtime for ``settings``: the one there is when its fingerprint matches,
    else a new one (a stale one is stopped first).

    Raises:
        ConfigError: the runtime did not come up (its log is named).
    """
    wanted = fingerprint(settings)
    directory = runtime_dir(settings)
    with _locked(directory):
        info = read_info(settings)
        if info is not None and info.alive and info.fingerprint == wanted and healthy(info):
            return info
        if info is not None and info.alive:
            _stop(info)
        return _start(settings, directory, wanted)


def _start(settings: Settings, directory: Path, wanted: str) -> RuntimeInfo:
    from dunes.errors import ConfigError

    socket_path = directory / "dunes.sock"
    with contextlib.suppress(FileNotFoundError):
        socket_path.unlink()
    (directory / "runtime.json").unlink(missing_ok=True)
    log = directory / "runtime.log"
    with log.open("ab") as out:
        subprocess.Popen(
            [sys.executable, "-m", "dunes.interfaces.runtime", "--socket", str(socket_path),
             "--fingerprint", wanted],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
            env={**os.environ, "DUNES_DATA_DIR": str(settings.data_dir)},
        )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        info = read_info(settings)
        if info is not None and info.fingerprint == wanted and healthy(info):
            return info
        time.sleep(0.05)
    raise ConfigError(f"the dunes runtime did not start within {START_TIMEOUT_S:g} s; see {log}")


def _stop(info: RuntimeInfo, *, timeout: float = 15.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while info.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    if info.alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(info.pid, signal.SIGKILL)


def stop(settings: Settings) -> RuntimeInfo | None:
    """Stop the runtime of ``settings``; the one that was running, or None."""
    directory = runtime_dir(settings)
    with _locked(directory):
        info = read_info(settings)
        if info is None or not info.alive:
            return None
        _stop(info)
        return info


def status(settings: Settings) -> dict[str, Any]:
    """Whether a runtime runs, and whether it is the current code and settings."""
    info = read_info(settings)
    if info is None or not info.alive:
        return {"running": False, "directory": str(runtime_dir(settings))}
    return {
        "running": True,
        "pid": info.pid,
        "socket": info.socket,
        "uptime_s": round(time.time() - info.started_at, 1),
        "current": info.fingerprint == fingerprint(settings),
        "healthy": healthy(info),
        "idle_timeout_s": settings.runtime.idle_timeout_s,
    }


# --- inside the runtime process ----------------------------------------------------------------


class IdleClock:
    """When the runtime last had work: requests in flight or jobs on its workers keep it
    awake; ``idle_s`` says how long it has had none."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.in_flight = 0
        self.last = time.monotonic()

    def touch(self) -> None:
        self.last = time.monotonic()

    def busy(self) -> bool:
        if self.in_flight:
            return True
        if not self.services.has_orchestrator:
            return False
        return any(w.job for w in self.services.orchestrator.executor.workers())

    def idle_s(self) -> float:
        if self.busy():
            self.touch()
        return time.monotonic() - self.last


def announce(socket_path: Path, wanted: str) -> None:
    """Say that this process serves ``socket_path`` (what ``read_info`` finds), the socket
    made owner-only first."""
    os.chmod(socket_path, 0o600)
    info = {"pid": os.getpid(), "fingerprint": wanted, "socket": str(socket_path),
            "started_at": time.time()}  # fmt: skip
    state = socket_path.parent / "runtime.json"
    state.with_suffix(".tmp").write_text(json.dumps(info))
    state.with_suffix(".tmp").replace(state)


def withdraw(socket_path: Path) -> None:
    """Undo ``announce`` as the process ends."""
    (socket_path.parent / "runtime.json").unlink(missing_ok=True)
    socket_path.unlink(missing_ok=True)


# --- the client ------------------------------------------------------------------------------


def warm_client(settings: Settings, executor: str | None) -> RuntimeClient | None:
    """A client of the runtime when calls should go through one (it is enabled and the
    executor asked for is the default one), the runtime started if need be."""
    if not settings.runtime.enabled or executor not in (None, settings.executor.kind):
        return None
    return RuntimeClient(client(ensure(settings)))


class RuntimeClient:
    """The calls the CLI makes through the runtime (its REST API on the socket)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def __enter__(self) -> RuntimeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def plan(self, text: str) -> dict[str, Any]:
        """The planner's public output for ``text``."""
        plan: dict[str, Any] = answer(self.http.post("/v1/agents/planner", json={"text": text}))
        return plan

    def submit(self, request: Mapping[str, Any]) -> str:
        """Queue a job; its id."""
        job_id: str = answer(self.http.post("/v1/jobs", json=dict(request)))["job_id"]
        return job_id

    def cancel(self, job_id: str) -> Job:
        """Cancel a job; where it stood."""
        from dunes.orchestration import Job

        return Job.model_validate(answer(self.http.delete(f"/v1/jobs/{job_id}")))

    def watch(self, job_id: str, *, timeout: float | None) -> Iterator[JobUpdate]:
        """Poll the job until it ends or ``timeout`` s pass; a change of step or progress
        comes as an event (the runtime's job view carries no messages)."""
        from dunes.orchestration import Job, JobEvent
        from dunes.services.jobs import JobUpdate

        started = time.monotonic()
        seen: tuple[str | None, float] | None = None
        while True:
            job = Job.model_validate(answer(self.http.get(f"/v1/jobs/{job_id}")))
            now = (job.step, job.progress)
            events = []
            if now != seen:
                seen = now
                end = job.status if job.done else None
                step = job.step or job.status
                events = [
                    JobEvent(job_id=job_id, seq=0, step=step, progress=job.progress, status=end)
                ]
            timed_out = timeout is not None and time.monotonic() - started >= timeout
            yield JobUpdate(events=events, job=job, timed_out=timed_out)
            if job.done or timed_out:
                return
            time.sleep(0.05)

    def result(self, job_id: str) -> JobResult:
        """The job's result as it stands."""
        from dunes.orchestration import JobResult

        return JobResult.model_validate(answer(self.http.get(f"/v1/jobs/{job_id}/result")))

    def ended_at(self, job_id: str) -> str | None:
        """The step an ended job was at when it ended, from its events (Server-Sent Events,
        which end with a job that has)."""
        from dunes.orchestration import JobEvent
        from dunes.services.jobs import work_step

        events, kind = [], None
        with self.http.stream("GET", f"/v1/jobs/{job_id}/events") as response:
            for line in response.iter_lines():
                if line.startswith("event:"):
                    kind = line.partition(":")[2].strip()
                elif line.startswith("data:") and kind == "progress":
                    events.append(JobEvent.model_validate_json(line.partition(":")[2]))
        return work_step(events)

    def still_waiting(self, job_id: str, waited_s: float) -> JobError:
        """Where the job stands after ``waited_s`` and how to follow it (why no worker takes a
        queued one is the runtime's to know)."""
        from dunes.orchestration import Job

        return Job.model_validate(answer(self.http.get(f"/v1/jobs/{job_id}"))).still_waiting(
            waited_s
        )


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
