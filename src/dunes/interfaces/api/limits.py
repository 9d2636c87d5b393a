"""ASGI guards in front of every route: the Host and Origin policy, and the body size limit."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dunes.errors import LimitExceededError
from dunes.interfaces.api.problems import dunes_error_response, problem_response
from dunes.services.access import AccessPolicy


class HostOriginGuard:
    """421 for a request to a Host this server is not (DNS rebinding); 403 for a state-changing
    request from a foreign Origin (see ``dunes.services.access``)."""

    def __init__(self, app: ASGIApp, *, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        host, origin = headers.get("host"), headers.get("origin")
        method = scope.get("method", "GET")
        if not self.policy.host_allowed(host):
            response = problem_response(
                status=421,
                slug="misdirected-request",
                title="Host not served here",
                detail=f"this server does not answer to Host {host!r}; it answers to loopback "
                "names and api.allowed_hosts",
                instance=scope.get("path"),
                field="host",
            )
        elif not self.policy.origin_allowed(origin, method=method, host_header=host):
            response = problem_response(
                status=403,
                slug="foreign-origin",
                title="Cross-origin request refused",
                detail=f"{method} from a page at {origin!r} is refused; allow an origin with "
                "api.cors_origins",
                instance=scope.get("path"),
                field="origin",
            )
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)


class BodySizeLimit:
    """Refuse request bodies larger than ``max_bytes`` with a 413 naming the setting.

    A declared ``Content-Length`` is checked before anything is read; a chunked body is read up
    to the limit and replayed to the application.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self, size: str) -> LimitExceededError:
        return LimitExceededError(
            f"request body is {size} bytes; the limit is {self.max_bytes} "
            "(setting api.max_body_bytes)",
            field="api.max_body_bytes",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length > self.max_bytes:
                response = dunes_error_response(self._too_large(str(length)), scope["path"])
                await response(scope, receive, send)
                return
            if length >= 0:
                await self.app(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                response = dunes_error_response(self._too_large(f"more than {size}"), scope["path"])
                await response(scope, receive, send)
                return
            chunks.append(body)
            more = bool(message.get("more_body", False))
        await self.app(
            scope, _replay([{"type": "http.request", "body": b"".join(chunks)}], receive), send
        )


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive
