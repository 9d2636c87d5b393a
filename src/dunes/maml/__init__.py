"""MAML: Markdown documents with YAML front matter and fenced code blocks that are parsed,
validated, signed (ML-DSA-65), encrypted (AES-256-GCM) and run under their permissions.

The specification is docs/maml.md.
"""

from __future__ import annotations

from dunes.maml.crypto import (
    SignatureInfo,
    decrypt_document,
    encrypt_document,
    generate_keypair,
    generate_symmetric_key,
    load_private_key,
    load_public_key,
    load_symmetric_key,
    sign_document,
    verify_document,
)
from dunes.maml.examples import list_examples, read_example
from dunes.maml.fmt import format_document
from dunes.maml.history import read_history
from dunes.maml.model import CodeBlock, DocumentReport, Finding, MamlDocument, Section
from dunes.maml.parser import load_document, parse_document, validate_document
from dunes.maml.runner import BlockResult, MamlRunResult, run_document
from dunes.maml.schema import FrontMatter, Permissions

__all__ = [
    "BlockResult",
    "CodeBlock",
    "DocumentReport",
    "Finding",
    "FrontMatter",
    "MamlDocument",
    "MamlRunResult",
    "Permissions",
    "Section",
    "SignatureInfo",
    "decrypt_document",
    "encrypt_document",
    "format_document",
    "generate_keypair",
    "generate_symmetric_key",
    "list_examples",
    "load_document",
    "load_private_key",
    "load_public_key",
    "load_symmetric_key",
    "parse_document",
    "read_example",
    "read_history",
    "run_document",
    "sign_document",
    "validate_document",
    "verify_document",
]
