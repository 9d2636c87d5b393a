"""Who may talk to a dunes server: API keys, rate limits, and the Host and Origin it answers.

One policy for the REST gateway, the MCP HTTP transport and the dashboard:

- **Keys** are bearer tokens kept only as SHA-256 digests (an entry ``sha256:<hex>`` is already
  one) and compared in constant time. They are required whenever the server listens on
  anything but a loopback address.
- **Host**: a server on loopback with no keys answers only to loopback names (and
  ``api.allowed_hosts``), so a web page whose DNS name is rebound to 127.0.0.1 is refused. Off
  loopback keys guard the server; ``api.allowed_hosts`` narrows the names when set.
- **Origin**: a state-changing request (POST, PUT, PATCH, DELETE) that a browser sends from
  another origin is refused unless ``api.cors_origins`` lists it. Requests without an Origin
  (curl, scripts, other servers) are not browsers' and pass.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import threading
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

from pydantic import SecretStr

from dunes.config import ApiSettings
from dunes.errors import AuthenticationError, ConfigError, RateLimitedError

HASH_PREFIX = "sha256:"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
#: Methods that change state: what a foreign Origin may not send.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def hash_key(token: str) -> str:
    """Hex SHA-256 digest of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def keys_required_for(host: str) -> bool:
    """True unless ``host`` is a loopback address or ``localhost`` (a wildcard or a name that
    may resolve off loopback needs keys)."""
    return not is_loopback(host)


def split_host(value: str) -> str:
    """``example.org:8000`` -> ``example.org``; ``[::1]:8000`` -> ``::1``; lower case."""
    text = value.strip().lower()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    if text.count(":") == 1:
        return text.split(":", 1)[0]
    return text


class ApiKeyRing:
    """The accepted keys, as digests only."""

    def __init__(self, keys: Iterable[SecretStr | str], *, required: bool) -> None:
        digests: list[bytes] = []
        for key in keys:
            raw = (key.get_secret_value() if isinstance(key, SecretStr) else key).strip()
            if not raw:
                continue
            if raw.startswith(HASH_PREFIX):
                hexdigest = raw[len(HASH_PREFIX) :].lower()
                if len(hexdigest) != 64 or any(c not in "0123456789abcdef" for c in hexdigest):
                    raise ConfigError(
                        "api.api_keys: a 'sha256:' entry needs 64 hex digits", field="api.api_keys"
                    )
                digests.append(bytes.fromhex(hexdigest))
            else:
                digests.append(bytes.fromhex(hash_key(raw)))
        if required and not digests:
            raise ConfigError(
                "API keys are required when serving off loopback (or when asked for): set "
                "api.api_keys (DUNES_API__API_KEYS='[\"<token>\"]') or bind to 127.0.0.1",
                field="api.api_keys",
            )
        self._digests = tuple(digests)
        self.required = required

    def identify(self, authorization: str | None) -> str | None:
        """Check an ``Authorization`` header; return a short key id, or None when keys are off.

        Raises:
            AuthenticationError: keys are required and the header holds no valid key.
        """
        token = bearer_token(authorization)
        if token is None:
            if self.required:
                raise AuthenticationError(
                    "an API key is required: send 'Authorization: Bearer <key>'",
                    field="authorization",
                )
            return None
        presented = hashlib.sha256(token.encode()).digest()
        matched: bytes | None = None
        for digest in self._digests:  # no early exit: time does not depend on which key matched
            if hmac.compare_digest(presented, digest):
                matched = digest
        if matched is None:
            if self.required:
                raise AuthenticationError("the API key is not valid", field="authorization")
            return None
        return matched.hex()[:12]


def bearer_token(authorization: str | None) -> str | None:
    """The token of ``Authorization: Bearer <token>``, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class AccessPolicy:
    """Keys, Host names and Origins for a server bound to ``host``."""

    def __init__(self, api: ApiSettings, *, host: str, require_keys: bool | None = None) -> None:
        required = keys_required_for(host) or bool(require_keys)
        self.keys = ApiKeyRing(api.api_keys, required=required)
        self.bound = split_host(host)
        self.extra_hosts = frozenset(h.strip().lower() for h in api.allowed_hosts)
        self.cors_origins = frozenset(o.strip().rstrip("/").lower() for o in api.cors_origins)
        # Loopback without keys is the case DNS rebinding attacks: answer loopback names only.
        self.strict_hosts = not required or bool(self.extra_hosts)

    def host_allowed(self, host_header: str | None) -> bool:
        """Whether a request with this ``Host`` header is for this server."""
        if "*" in self.extra_hosts:
            return True
        if not host_header:
            return not self.strict_hosts
        name = split_host(host_header)
        if name in LOOPBACK_NAMES or name in self.extra_hosts or is_loopback(name):
            return True
        if name == self.bound and self.bound not in ("0.0.0.0", "::"):
            return True
        return not self.strict_hosts

    def origin_allowed(self, origin: str | None, *, method: str, host_header: str | None) -> bool:
        """Whether a request of ``method`` may come from a page at ``origin``: same origin (its
        host is this server's), a configured CORS origin, or no browser at all."""
        if origin is None or method.upper() not in UNSAFE_METHODS:
            return True
        normal = origin.strip().rstrip("/").lower()
        if normal in self.cors_origins or "*" in self.cors_origins:
            return True
        if normal == "null":
            return False
        parts = urlsplit(normal)
        if not parts.hostname:
            return False
        same = host_header is not None and parts.netloc == host_header.strip().lower()
        return same and self.host_allowed(parts.netloc)


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
