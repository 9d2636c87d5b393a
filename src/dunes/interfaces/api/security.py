"""API keys: bearer tokens kept only as SHA-256 digests and compared in constant time.

Keys come from ``settings.api.api_keys``; an entry ``sha256:<hex>`` is taken as an already hashed
key, so a configuration file need not hold the token itself. Keys are required whenever the
server listens on anything but a loopback address (:func:`keys_required_for`).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable

from pydantic import SecretStr

from dunes.errors import ConfigError
from dunes.interfaces.api.problems import AuthenticationError

HASH_PREFIX = "sha256:"


def hash_key(token: str) -> str:
    """Hex SHA-256 digest of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def keys_required_for(host: str) -> bool:
    """True unless ``host`` is a loopback address or ``localhost``."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return False
    try:
        return not ipaddress.ip_address(name).is_loopback
    except ValueError:
        return True  # a host name or wildcard that may resolve off loopback


class ApiKeyRing:
    """The accepted keys, as digests only."""

    def __init__(self, keys: Iterable[SecretStr | str], *, required: bool) -> None:
        digests: list[bytes] = []
        for key in keys:
            raw = key.get_secret_value() if isinstance(key, SecretStr) else key
            raw = raw.strip()
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
                "API keys are required when serving off loopback; set DUNES_API__API_KEYS "
                "(a JSON list, e.g. '[\"<token>\"]') or bind to 127.0.0.1",
                field="api.api_keys",
            )
        self._digests = tuple(digests)
        self.required = required

    def identify(self, authorization: str | None) -> str | None:
        """Check an ``Authorization`` header; return a short key id, or None when keys are off.

        Raises:
            AuthenticationError: keys are required and the header holds no valid key.
        """
        token = _bearer(authorization)
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


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
