"""Streamable HTTP for the MCP server: stateless, loopback by default, bearer tokens elsewhere."""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dunes.errors import AuthenticationError
from dunes.interfaces.mcp.server import DunesServer
from dunes.services.access import AccessPolicy, ApiKeyRing

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"


class BearerTokenMiddleware:
    """Refuse HTTP requests without a valid ``Authorization: Bearer <key>`` (health exempt)."""

    def __init__(self, app: ASGIApp, keys: ApiKeyRing, exempt: Sequence[str] = ()) -> None:
        self.app = app
        self.keys = keys
        self._exempt = set(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self._exempt:
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers", ())).get(b"authorization", b"").decode("latin-1")
        try:
            self.keys.identify(header or None)
        except AuthenticationError:
            body = json.dumps(
                {"error": "unauthorized", "detail": "a valid bearer token is required"}
            )
            response = Response(
                body,
                status_code=401,
                media_type="application/json",
                headers={"WWW-Authenticate": 'Bearer realm="dunes"'},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


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
    policy = AccessPolicy(server.services.settings.api, host=host, require_keys=require_token)

    @server.custom_route(HEALTH_PATH, methods=["GET"], include_in_schema=False)
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "server": server.name, "version": server.version})

    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        host=host,
        max_request_body_size=server.services.settings.api.max_body_bytes,
    )
    if policy.keys.required:
        app.add_middleware(BearerTokenMiddleware, keys=policy.keys, exempt=[HEALTH_PATH])
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
