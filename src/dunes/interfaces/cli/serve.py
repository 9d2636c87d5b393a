"""``dunes serve``: run the REST gateway under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from dunes.constants import ExecutorKind
from dunes.interfaces.cli.common import err_console


def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; off loopback API keys are required.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=0, max=65535)] = 8000,
    executor: Annotated[
        ExecutorKind | None, typer.Option(help="Default: the setting executor.kind.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request.")
    ] = True,
) -> None:
    """Serve the REST API (OpenAPI at /docs) with uvicorn."""
    import uvicorn

    from dunes.config import get_settings
    from dunes.interfaces.api import create_app
    from dunes.maml.policy import unsigned_code_warning
    from dunes.services.access import keys_required_for

    settings = get_settings()
    if executor is not None:
        settings = settings.model_copy(
            update={"executor": settings.executor.model_copy(update={"kind": executor})}
        )
    required = keys_required_for(host)
    app = create_app(settings, host=host)
    if required:
        err_console.print(f"serving on {host}: API keys required (Authorization: Bearer <key>)")
    warning = unsigned_code_warning(settings.maml)
    if warning:
        err_console.print(f"[bold red]{warning}[/]", highlight=False, soft_wrap=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), access_log=access_log)
