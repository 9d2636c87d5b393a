"""``dunes mcp``: serve the MCP server over stdio (default) or streamable HTTP."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Annotated

import typer


def _close_on_sigterm(close: Callable[[], None]) -> None:
    """On SIGTERM stop the workers, then exit.

    A stdio server blocks in a thread reading stdin, which no cancellation interrupts, so a
    clean unwind would wait for the client's next line; closing stdin ends it normally.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        try:
            close()
        finally:
            os._exit(0)

    signal.signal(signal.SIGTERM, handler)


def mcp(
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio.")
    ] = False,
    host: Annotated[
        str, typer.Option(help="HTTP address; off loopback a bearer token is required.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port.", min=1, max=65535)] = 8765,
    require_token: Annotated[
        bool,
        typer.Option(
            "--require-token",
            help="Require a bearer token from api.api_keys on loopback too.",
        ),
    ] = False,
) -> None:
    """Serve dunes to AI assistants over the Model Context Protocol.

    stdio by default (for Claude Desktop, Claude Code, MCP Inspector); with --http, stateless
    streamable HTTP at http://HOST:PORT/mcp. Logs go to stderr.
    """
    from dunes.config import get_settings
    from dunes.interfaces.mcp import create_server
    from dunes.interfaces.mcp.http import serve_http
    from dunes.maml.policy import unsigned_code_warning
    from dunes.services.access import AccessPolicy

    settings = get_settings()
    if http:  # refuse a missing key before loading anything
        AccessPolicy(settings.api, host=host, require_keys=require_token)
    warning = unsigned_code_warning(settings.maml)
    if warning:
        print(warning, file=sys.stderr)
    server = create_server(settings)
    try:
        if http:
            serve_http(
                server,
                host=host,
                port=port,
                require_token=require_token,
                log_level=settings.log_level.lower(),
            )
        else:
            _close_on_sigterm(server.close)
            server.run("stdio")
    finally:
        server.close()
