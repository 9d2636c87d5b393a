"""The warm local runtime's process: the REST app on an owner-only Unix socket, until idle.

Started, found and stopped by ``dunes.services.runtime`` (see there for what it is and why).
"""

from __future__ import annotations

import argparse
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
    from dunes.services import runtime

    settings = get_settings()
    app = create_app(settings, host="localhost")
    clock = runtime.IdleClock(app.state.gateway.services)

    @app.middleware("http")
    async def touch(request: Any, call_next: Any) -> Any:
        clock.in_flight += 1
        try:
            return await call_next(request)
        finally:
            clock.in_flight -= 1
            clock.touch()

    config = uvicorn.Config(app, uds=str(socket_path), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)

    def watch() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        runtime.announce(socket_path, wanted)
        while not server.should_exit:
            time.sleep(1.0)
            if clock.idle_s() > settings.runtime.idle_timeout_s:
                server.should_exit = True

    threading.Thread(target=watch, name="dunes-runtime-idle", daemon=True).start()
    try:
        server.run()
    finally:
        runtime.withdraw(socket_path)


def main() -> None:
    parser = argparse.ArgumentParser(description="The dunes runtime (started by the CLI).")
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--fingerprint", required=True)
    args = parser.parse_args()
    os.umask(0o077)
    serve(args.socket, args.fingerprint)


if __name__ == "__main__":
    main()
