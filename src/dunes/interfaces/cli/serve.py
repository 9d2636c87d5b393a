"""``dunes serve``: run the REST gateway under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from dunes.config import get_settings
from dunes.errors import InvalidInputError
from dunes.interfaces.cli.common import err_console

EXECUTORS = ("local", "celery")


def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; off loopback API keys are required.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=0, max=65535)] = 8000,
    executor: Annotated[
        str | None, typer.Option(help="local|celery (default: setting executor.kind).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request.")
    ] = True,
) -> None:
    """Serve the REST API (OpenAPI at /docs) with uvicorn."""
    import uvicorn

    from dunes.interfaces.api import create_app
    from dunes.interfaces.api.security import keys_required_for

    settings = get_settings()
    if executor is not None:
        if executor not in EXECUTORS:
            raise InvalidInputError(
                f"executor {executor!r} not known; accepted: {', '.join(EXECUTORS)}",
                field="executor",
            )
        settings = settings.model_copy(
            update={"executor": settings.executor.model_copy(update={"kind": executor})}
        )
    required = keys_required_for(host)
    app = create_app(settings, require_api_keys=required)
    if required:
        err_console.print(f"serving on {host}: API keys required (Authorization: Bearer <key>)")
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), access_log=access_log)
