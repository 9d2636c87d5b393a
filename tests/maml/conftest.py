"""Helpers for MAML tests: small documents and keys made on the spot."""

from __future__ import annotations

from pathlib import Path

import pytest

from dunes.maml import generate_keypair, load_private_key, load_public_key


def doc(body: str, *, execute: bool = True, write: bool = False, extra: str = "") -> str:
    """A minimal valid document around ``body``."""
    return (
        "---\nschema_version: 1.0\ncontext: test\n"
        f"permissions: {{ execute: {str(execute).lower()}, write: {str(write).lower()} }}\n"
        f"{extra}---\n# Test\n\n{body}"
    )


@pytest.fixture
def keypair(tmp_path: Path) -> tuple[Path, Path]:
    return generate_keypair(tmp_path / "keys" / "signer")


@pytest.fixture
def private_key(keypair: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    return load_private_key(keypair[0].read_bytes())


@pytest.fixture
def public_key(keypair: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    return load_public_key(keypair[1].read_bytes())
