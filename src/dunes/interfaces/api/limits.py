"""Request limits: body size (an ASGI middleware) and a per-key rate limit (token buckets)."""

from __future__ import annotations

import threading
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dunes.errors import LimitExceededError
from dunes.interfaces.api.problems import RateLimitedError, dunes_error_response


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


class RateLimiter:
    """A token bucket per identity: ``per_minute`` requests a minute, bursts up to that many."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, identity: str) -> None:
        """Take one token for ``identity``.

        Raises:
            RateLimitedError: the bucket is empty; ``retry_after_s`` says when one is back.
        """
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(identity, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[identity] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
                raise RateLimitedError(
                    f"more than {self.per_minute} requests a minute "
                    f"(setting api.rate_limit_per_minute); retry in {wait:.1f} s",
                    retry_after_s=wait,
                )
            self._buckets[identity] = (tokens - 1.0, now)
            if len(self._buckets) > 10_000:
                self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        full = [
            key
            for key, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self.rate >= self.per_minute
        ]
        for key in full:
            del self._buckets[key]
