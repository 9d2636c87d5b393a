"""Streamable HTTP for the MCP server: stateless, loopback by default, bearer tokens elsewhere."""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dunes.config import Settings
from dunes.errors import ConfigError
from dunes.interfaces.mcp.server import DunesServer

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def accepted_tokens(
    settings: Settings, *, host: str, require_token: bool | None = None
) -> list[str]:
    """The bearer tokens a server on ``host`` accepts; empty when it needs none.

    A token is required off loopback whatever ``require_token`` says; on loopback only when
    ``require_token`` is true.

    Raises:
        ConfigError: a token is required and ``settings.api.api_keys`` holds none.
    """
    needed = not is_loopback(host) or bool(require_token)
    if not needed:
        return []
    tokens = [key.get_secret_value() for key in settings.api.api_keys if key.get_secret_value()]
    if not tokens:
        raise ConfigError(
            f"serving MCP over HTTP on {host} requires a bearer token; set api.api_keys "
            "(e.g. DUNES_API__API_KEYS='[\"<token>\"]') or bind 127.0.0.1",
            field="api.api_keys",
        )
    return tokens


class BearerTokenMiddleware:
    """Refuse HTTP requests without ``Authorization: Bearer <one of tokens>`` (health exempt)."""

    def __init__(self, app: ASGIApp, tokens: Sequence[str], exempt: Sequence[str] = ()) -> None:
        self.app = app
        self._tokens = [t.encode() for t in tokens]
        self._exempt = set(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self._exempt:
            await self.app(scope, receive, send)
            return
        if self._authorized(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "unauthorized", "detail": "a valid bearer token is required"})
        response = Response(
            body,
            status_code=401,
            media_type="application/json",
            headers={"WWW-Authenticate": 'Bearer realm="dunes"'},
        )
        await response(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        header = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                header = value
                break
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"bearer" or not token:
            return False
        # Compare against every token so timing does not reveal which one matched.
        matches = [hmac.compare_digest(token.strip(), t) for t in self._tokens]
        return any(matches)


def create_http_app(
    server: DunesServer,
    *,
    host: str = "127.0.0.1",
    require_token: bool | None = None,
) -> Starlette:
    """The ASGI app serving ``server`` over stateless streamable HTTP at ``/mcp``.

    Stateless: every request stands alone, so several processes can sit behind a balancer.

    Raises:
        ConfigError: a token is required (off loopback, or asked for) and none is configured.
    """
    tokens = accepted_tokens(server.services.settings, host=host, require_token=require_token)

    @server.custom_route(HEALTH_PATH, methods=["GET"], include_in_schema=False)
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "server": server.name, "version": server.version})

    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        host=host,
        max_request_body_size=server.services.settings.api.max_body_bytes,
    )
    if tokens:
        app.add_middleware(BearerTokenMiddleware, tokens=tokens, exempt=[HEALTH_PATH])
    return app


def serve_http(
    server: DunesServer,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    require_token: bool | None = None,
    log_level: str = "warning",
) -> None:
    """Serve until interrupted (uvicorn; logs on stderr)."""
    import uvicorn

    app = create_http_app(server, host=host, require_token=require_token)
    uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on")
    ).run()
