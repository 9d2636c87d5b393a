"""MAML documents: validate, and run under the one execution policy (``dunes.maml.policy``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from dunes.errors import InvalidInputError
from dunes.maml import DocumentReport, MamlRunResult, read_example, run_document, validate_document
from dunes.services.context import Services
from dunes.services.public import Origin


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
