"""The warm local runtime: one ``dunes serve`` per user and data directory, on a Unix socket.

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

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from dunes.config import Settings

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
    package = Path(__file__).resolve().parents[1]
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


# --- the runtime process ---------------------------------------------------------------------


def serve(socket_path: Path, wanted: str) -> None:
    """Serve the REST app on ``socket_path`` until idle for ``runtime.idle_timeout_s``."""
    import uvicorn

    from dunes.config import get_settings
    from dunes.interfaces.api import create_app

    settings = get_settings()
    app = create_app(settings, host="localhost")
    last = [time.monotonic()]
    in_flight = [0]

    @app.middleware("http")
    async def touch(request: Any, call_next: Any) -> Any:
        in_flight[0] += 1
        try:
            return await call_next(request)
        finally:
            in_flight[0] -= 1
            last[0] = time.monotonic()

    config = uvicorn.Config(app, uds=str(socket_path), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)

    def busy() -> bool:
        if in_flight[0]:
            return True
        services = app.state.gateway.services
        if not services.has_orchestrator:
            return False
        return any(w.job for w in services.orchestrator.executor.workers())

    def watch() -> None:
        while not server.should_exit:
            time.sleep(1.0)
            if busy():
                last[0] = time.monotonic()
            elif time.monotonic() - last[0] > settings.runtime.idle_timeout_s:
                server.should_exit = True

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        os.chmod(socket_path, 0o600)
        info = {"pid": os.getpid(), "fingerprint": wanted, "socket": str(socket_path),
                "started_at": time.time()}  # fmt: skip
        state = socket_path.parent / "runtime.json"
        state.with_suffix(".tmp").write_text(json.dumps(info))
        state.with_suffix(".tmp").replace(state)

    threading.Thread(target=watch, name="dunes-runtime-idle", daemon=True).start()
    threading.Thread(target=announce, name="dunes-runtime-announce", daemon=True).start()
    try:
        server.run()
    finally:
        (socket_path.parent / "runtime.json").unlink(missing_ok=True)
        socket_path.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="The dunes runtime (started by the CLI).")
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--fingerprint", required=True)
    args = parser.parse_args()
    os.umask(0o077)
    serve(args.socket, args.fingerprint)


if __name__ == "__main__":
    main()
