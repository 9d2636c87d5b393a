"""The access policy in front of every HTTP server dunes runs: the REST gateway, MCP over HTTP
and the warm runtime wrap their apps in one ``AccessGuard``, so no server can miss a check.

In order, for each request: the Host it names (``MisdirectedRequestError``, 421), the Origin of
a state-changing request (``ForeignOriginError``, 403), then, on every path but the server's
open ones, the API key where one is required (``AuthenticationError``, 401) and the caller's
rate (``RateLimitedError``, 429); last the body size (``LimitExceededError``, 413). A refusal is
the server's own rendering of the error (problem details for both). Plain ASGI: no framework.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from dunes.config import ApiSettings
from dunes.errors import (
    DunesError,
    ForeignOriginError,
    LimitExceededError,
    MisdirectedRequestError,
)
from dunes.services.access import AccessPolicy, RateLimiter

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: The response that refuses a request: the error, and the path asked for.
Refuse = Callable[[DunesError, str], ASGIApp]

#: Methods that carry no body worth limiting.
BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


class AccessGuard:
    """Admit a request under ``policy`` or answer with ``refuse(error, path)``; the rate and
    body limits are ``api.rate_limit_per_minute`` and ``api.max_body_bytes``.

    ``open_paths`` (exact) and ``open_prefixes`` need no key and are not rate-limited (health
    checks, the dashboard's page and files, the API docs); the Host and Origin rules hold for
    them too.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        api: ApiSettings,
        policy: AccessPolicy,
        refuse: Refuse,
        open_paths: Collection[str] = (),
        open_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.policy = policy
        self.refuse = refuse
        self.limiter = RateLimiter(api.rate_limit_per_minute)
        self.max_body_bytes = api.max_body_bytes
        self.open_paths = frozenset(open_paths)
        self.open_prefixes = open_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        try:
            self.admit(scope)
        except DunesError as exc:
            await self.refuse(exc, path)(scope, receive, send)
            return
        method = scope.get("method", "GET")
        if scope["type"] != "http" or method in BODILESS:
            await self.app(scope, receive, send)
            return
        await self._limit_body(scope, receive, send, path)

    def admit(self, scope: Scope) -> None:
        """Raise the error that refuses this request, if any; take one token from its caller."""
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        host, origin = headers.get("host"), headers.get("origin")
        method = str(scope.get("method", "GET"))
        if not self.policy.host_allowed(host):
            raise MisdirectedRequestError(
                f"this server does not answer to Host {host!r}; it answers to loopback names "
                "and api.allowed_hosts",
                field="host",
            )
        if not self.policy.origin_allowed(origin, method=method, host_header=host):
            raise ForeignOriginError(
                f"{method} from a page at {origin!r} is refused; allow an origin with "
                "api.cors_origins",
                field="origin",
            )
        path = str(scope.get("path", ""))
        if path in self.open_paths or path.startswith(self.open_prefixes):
            return
        key_id = self.policy.keys.identify(headers.get("authorization"))
        client = scope.get("client")
        self.limiter.check(f"key:{key_id}" if key_id else f"client:{client[0] if client else '-'}")

    async def _limit_body(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """Refuse a body over ``max_bytes``: a declared ``Content-Length`` before anything is
        read; a chunked body read up to the limit and replayed to the app."""
        limit = self.max_body_bytes
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        length = int(declared) if declared is not None and declared.isdigit() else -1
        if length > limit:
            await self.refuse(_too_large(str(length), limit), path)(scope, receive, send)
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
            if size > limit:
                await self.refuse(_too_large(f"more than {size}", limit), path)(
                    scope, receive, send
                )
                return
            chunks.append(body)
            more = bool(message.get("more_body", False))
        replay = _replay([{"type": "http.request", "body": b"".join(chunks)}], receive)
        await self.app(scope, replay, send)


def _too_large(size: str, limit: int) -> LimitExceededError:
    return LimitExceededError(
        f"request body is {size} bytes; the limit is {limit} (setting api.max_body_bytes)",
        field="api.max_body_bytes",
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
