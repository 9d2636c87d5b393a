"""Shared fixtures: every test gets its own data directory and clean DUNES_* environment."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dunes.config import Settings, get_settings

POSTGRES_URL = os.environ.get(
    "DUNES_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("DUNES_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("DUNES_") and not key.startswith("DUNES_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DUNES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DUNES_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    # Each CLI call loads what it needs; the warm runtime has tests of its own.
    monkeypatch.setenv("DUNES_RUNTIME__ENABLED", "false")
    yield


@pytest.fixture
def settings() -> Settings:
    return get_settings()


@pytest.fixture
def postgres_url() -> str:
    if not port_open("127.0.0.1", 5432):
        pytest.fail("PostgreSQL is not running on 127.0.0.1:5432 (scripts/services.sh starts it)")
    return POSTGRES_URL


@pytest.fixture
def redis_url() -> str:
    if not port_open("127.0.0.1", 6379):
        pytest.fail("Redis is not running on 127.0.0.1:6379 (scripts/services.sh starts it)")
    return REDIS_URL
