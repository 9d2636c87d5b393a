"""MAML documents: validate, and run under the one execution policy (``dunes.maml.policy``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from dunes.errors import InvalidInputError, MamlError, MamlSyntaxError, MamlValidationError
from dunes.maml import (
    DocumentReport,
    MamlRunResult,
    SignatureInfo,
    list_examples,
    read_example,
    run_document,
    validate_document,
)
from dunes.services.context import Services
from dunes.services.public import Origin
from dunes.services.threads import io_bound


@io_bound
def document_text(*, document: str | None, example: str | None = None) -> str:
    """The document a network caller sends: its text, or the name of a shipped example.

    Raises:
        InvalidInputError: neither or both given, or the text is a file name (a server never
            opens a path a client names).
        MamlError: no example of that name.
    """
    if (document is None) == (example is None):
        raise InvalidInputError("give exactly one of document or example", field="document")
    if example is not None:
        return read_example(example)
    assert document is not None
    if "\n" not in document.strip():
        raise InvalidInputError(
            "document must be the MAML text itself (front matter, Markdown, fenced blocks), "
            "not a file name; a shipped example goes by example=<name>",
            field="document",
        )
    return document


def example_names() -> list[str]:
    """The documents shipped with dunes (``document_text(example=...)`` reads one)."""
    return list_examples()


@io_bound
def validate_maml(*, text: str) -> DocumentReport:
    """Parse and check a document; run nothing."""
    return validate_document(text)


def run_maml(
    *,
    services: Services,
    text: str,
    origin: Origin,
    source_path: Path | None = None,
    block: str | None = None,
    params: Mapping[str, str] | None = None,
    dry_run: bool = False,
    trust: bool = False,
    frozen: bool = False,
    keys: Sequence[Path] = (),
    decrypt_key: bytes | None = None,
    cancel: threading.Event | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> MamlRunResult:
    """Run a document's blocks in order under its permissions and the execution policy.

    Raises:
        MamlError: refused (signature, permissions, policy) before any block runs.
    """
    result = run_document(
        settings=services.settings,
        text=text,
        source_path=source_path if origin == "local" else None,
        block=block,
        params=params,
        dry_run=dry_run,
        trust=trust and origin == "local",
        frozen=frozen,
        keys=keys,
        decrypt_key=decrypt_key,
        store=services.store,
        cancel=cancel,
        progress=progress,
        origin=origin,
    )
    return result if origin == "local" else result.model_copy(update={"workdir": None})


# --- documents and keys in files (the CLI's verbs) ---------------------------------------------


def read_document(path: Path) -> str:
    """A document file's text.

    Raises:
        MamlError: the file cannot be read. MamlSyntaxError: it is not UTF-8.
    """
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MamlError(f"cannot read {path}: {exc.strerror}", field="file") from exc
    except UnicodeDecodeError as exc:
        raise MamlSyntaxError(f"{path} is not UTF-8 text (byte {exc.start})", field="file") from exc


def read_key(path: Path) -> bytes:
    """A key file's bytes (a MamlError names the file when it cannot be read)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise MamlError(f"cannot read key {path}: {exc.strerror}", field="key") from exc


def read_symmetric_key(path: Path) -> bytes:
    """The AES-256 key in a key file (``keygen --symmetric``); a MamlError names what is wrong."""
    from dunes.maml import load_symmetric_key

    return load_symmetric_key(read_key(path))


def keygen(out: Path, *, symmetric: bool = False) -> tuple[Path, ...]:
    """Write an ML-DSA-65 key pair (``out``, private, and ``out.pub``), or an AES-256 key."""
    from dunes.maml import generate_keypair, generate_symmetric_key

    return (generate_symmetric_key(out),) if symmetric else generate_keypair(out)


def format_maml(*, text: str) -> tuple[str, list[str]]:
    """The document with fences CommonMark would misread rewritten, and what changed."""
    from dunes.maml import format_document

    return format_document(text)


def write_document(path: Path, text: str) -> Path:
    """Write a document (a MamlError names the file when it cannot be written)."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MamlError(f"cannot write {path}: {exc.strerror}", field="out") from exc
    return path


def sign_file(path: Path, *, key: Path, out: Path | None = None) -> Path:
    """Check the document, embed an ML-DSA-65 signature made with the private ``key``, and
    write it to ``out`` (default: in place)."""
    from dunes.maml import load_document, load_private_key, sign_document

    text = read_document(path)
    load_document(text)
    return write_document(out or path, sign_document(text, load_private_key(read_key(key))))


def verify_file(path: Path, *, keys: Sequence[Path]) -> SignatureInfo:
    """The document's signature, checked against the public ``keys``.

    Raises:
        MamlSignatureError: missing, or made by none of the keys, or the text changed since.
    """
    from dunes.maml import load_public_key, verify_document

    return verify_document(read_document(path), [load_public_key(read_key(k)) for k in keys])


def encrypt_file(
    path: Path, *, key: Path, section: str | None = None, out: Path | None = None
) -> Path:
    """Encrypt the document (or one section's body) with the AES-256-GCM ``key``."""
    from dunes.maml import encrypt_document

    secret = read_symmetric_key(key)
    return write_document(
        out or path, encrypt_document(read_document(path), secret, section=section)
    )


def decrypt_file(path: Path, *, key: Path, out: Path | None = None) -> Path:
    """Decrypt a document or its encrypted sections with the AES-256-GCM ``key``."""
    from dunes.maml import decrypt_document

    secret = read_symmetric_key(key)
    return write_document(out or path, decrypt_document(read_document(path), secret))


def parse_params(values: Sequence[str]) -> dict[str, str]:
    """``key=value`` items as a mapping.

    Raises:
        MamlValidationError: an item without ``=`` or a key.
    """
    params: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise MamlValidationError(f"--param takes key=value, got {item!r}", field="params")
        params[key.strip()] = value
    return params
