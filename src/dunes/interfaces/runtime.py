"""The warm local runtime's process: the REST app on an owner-only Unix socket, until idle.

Started, found and stopped by ``dunes.services.runtime`` (see there for what it is and why).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path
from typing import Any


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
