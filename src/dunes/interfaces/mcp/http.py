"""Streamable HTTP for the MCP server: stateless, loopback by default, bearer tokens elsewhere."""

from __future__ import annotations

from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dunes.interfaces.api.problems import dunes_error_response
from dunes.interfaces.mcp.server import DunesServer
from dunes.services.access import AccessPolicy
from dunes.services.guard import AccessGuard

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"


def create_http_app(
    server: DunesServer,
    *,
    host: str = "127.0.0.1",
    require_token: bool | None = None,
) -> Starlette:
    """The ASGI app serving ``server`` over stateless streamable HTTP at ``/mcp``.

    Stateless: every request stands alone, so several processes can sit behind a balancer.
    Access is the REST gateway's (``dunes.services.guard``): Host and Origin, bearer token,
    rate and body size, refused with the same problem details; the SDK's own narrower Host
    check is off, so ``api.allowed_hosts`` and ``api.cors_origins`` mean the same here.

    Raises:
        ConfigError: a token is required (off loopback, or asked for) and none is configured.
    """
    api = server.services.settings.api
    policy = AccessPolicy(api, host=host, require_keys=require_token)

    @server.custom_route(HEALTH_PATH, methods=["GET"], include_in_schema=False)
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "server": server.name, "version": server.version})

    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        host=host,
        max_request_body_size=api.max_body_bytes,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    app.add_middleware(
        AccessGuard,
        api=api,
        policy=policy,
        refuse=dunes_error_response,
        open_paths=[HEALTH_PATH],
    )
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
