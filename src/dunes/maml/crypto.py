"""The ``2048-AES`` profile: ML-DSA-65 signatures embedded in the document, AES-256-GCM encryption.

"2048-AES" is the seed's name, not a cipher; docs/maml.md defines what it means here. The
signature covers the exact UTF-8 bytes of the document minus its own ``signature:`` entry and
minus the runner-maintained ``## History`` section, so a changed byte anywhere else fails.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import mldsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dunes.errors import MamlError, MamlSignatureError, MamlSyntaxError
from dunes.maml.parser import parse_document, split_front_matter, split_lines
from dunes.maml.schema import CIPHER, SIGNATURE_ALG

CONTEXT = b"dunes-maml-v1"
_SYM_PREFIX = "dunes-maml-aes256:"


@dataclass(frozen=True)
class SignatureInfo:
    """Who signed (key id) and when, after a successful verification."""

    key_id: str
    signed_at: str


def key_id(public_key: mldsa.MLDSA65PublicKey) -> str:
    return "sha256:" + hashlib.sha256(public_key.public_bytes_raw()).hexdigest()


def generate_keypair(out: Path) -> tuple[Path, Path]:
    """Write an ML-DSA-65 private key to ``out`` (mode 0600) and its public key to ``out.pub``."""
    private = mldsa.MLDSA65PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pub = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    pub_path = out.with_name(out.name + ".pub")
    pub_path.write_bytes(pub)
    return out, pub_path


def generate_symmetric_key(out: Path) -> Path:
    """Write a random AES-256 key (base64, mode 0600) for ``encrypt``/``decrypt``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(
            _SYM_PREFIX + base64.b64encode(AESGCM.generate_key(bit_length=256)).decode() + "\n"
        )
    return out


def load_private_key(data: bytes) -> mldsa.MLDSA65PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise MamlSignatureError(f"not a PEM private key: {exc}", field="key") from exc
    if not isinstance(key, mldsa.MLDSA65PrivateKey):
        raise MamlSignatureError(
            f"the key is {type(key).__name__}; {SIGNATURE_ALG} is needed", field="key"
        )
    return key


def load_public_key(data: bytes) -> mldsa.MLDSA65PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise MamlSignatureError(f"not a PEM public key: {exc}", field="key") from exc
    if not isinstance(key, mldsa.MLDSA65PublicKey):
        raise MamlSignatureError(
            f"the key is {type(key).__name__}; {SIGNATURE_ALG} is needed", field="key"
        )
    return key


def load_symmetric_key(data: bytes) -> bytes:
    text = data.decode("ascii", "replace").strip()
    if not text.startswith(_SYM_PREFIX):
        raise MamlError(
            f"not a MAML AES key file (expected a line starting {_SYM_PREFIX!r}; dunes maml keygen --symmetric)",
            field="key",
        )
    try:
        key = base64.b64decode(text[len(_SYM_PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise MamlError("the AES key file is not valid base64", field="key") from exc
    if len(key) != 32:
        raise MamlError(f"an AES-256 key has 32 bytes, this one {len(key)}", field="key")
    return key


def strip_signature(text: str) -> tuple[str, list[str] | None]:
    """(text without the front matter's ``signature:`` entry, that entry's lines or None)."""
    lines, end, _ = split_front_matter(text)
    if end is None:
        return text, None
    for i in range(1, end):
        if lines[i].startswith("signature:"):
            j = i + 1
            while j < end and lines[j][:1] in {" ", "\t"}:
                j += 1
            return "".join(lines[:i] + lines[j:]), lines[i:j]
    return text, None


def signed_region(unsigned_text: str) -> bytes:
    """The bytes a signature covers: everything before the ``## History`` heading."""
    doc = parse_document(unsigned_text)
    if doc.history_line is None:
        return unsigned_text.encode()
    lines = split_lines(unsigned_text)
    return "".join(lines[: doc.history_line - 1]).encode()


def _message(kid: str, signed_at: str, region: bytes) -> bytes:
    return (
        b"MAML-v1 "
        + SIGNATURE_ALG.encode()
        + b"\n"
        + kid.encode()
        + b"\n"
        + signed_at.encode()
        + b"\n"
        + region
    )


def _render_entry(kid: str, signed_at: str, value: str, newline: str) -> list[str]:
    """The one spelling of a signature entry; verification insists on it byte for byte."""
    return [
        "signature:" + newline,
        f"  alg: {SIGNATURE_ALG}" + newline,
        f"  key_id: {kid}" + newline,
        f"  signed_at: '{signed_at}'" + newline,
        f"  value: {value}" + newline,
    ]


def sign_document(
    text: str, private_key: mldsa.MLDSA65PrivateKey, *, now: datetime | None = None
) -> str:
    """Return ``text`` with a fresh ``signature:`` entry at the end of its front matter.

    Raises:
        MamlSyntaxError: the document has no front matter to hold the signature.
    """
    unsigned, _ = strip_signature(text)
    if not unsigned.endswith(("\n", "\r")):
        unsigned += "\n"  # so a History section can follow without touching signed bytes
    lines, end, findings = split_front_matter(unsigned)
    if end is None:
        raise MamlSyntaxError(f"cannot sign: {findings[0]}", field="document")
    kid = key_id(private_key.public_key())
    signed_at = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    value = private_key.sign(_message(kid, signed_at, signed_region(unsigned)), CONTEXT)
    newline = "\r\n" if lines[end].endswith("\r\n") else "\n"
    entry = _render_entry(kid, signed_at, base64.b64encode(value).decode(), newline)
    if not lines[end - 1].endswith(("\n", "\r")):
        lines[end - 1] += newline
    return "".join(lines[:end] + entry + lines[end:])


def verify_document(text: str, public_keys: Sequence[mldsa.MLDSA65PublicKey]) -> SignatureInfo:
    """Check the embedded signature against any of ``public_keys``.

    Raises:
        MamlSignatureError: unsigned, malformed, signed by another key, or changed since signing.
    """
    unsigned, entry = strip_signature(text)
    if entry is None:
        raise MamlSignatureError(
            "the document is not signed (no signature: entry in its front matter; dunes maml sign)",
            field="signature",
        )
    fields: dict[str, str] = {}
    for line in entry[1:]:
        match = re.match(r"^  (alg|key_id|signed_at|value): ?(.*?)\r?\n?$", line)
        if match is None or match.group(1) in fields:
            raise MamlSignatureError(
                f"malformed signature entry line {line.strip()[:40]!r}; expected alg, key_id, signed_at, value",
                field="signature",
            )
        fields[match.group(1)] = match.group(2).strip().strip("'\"")
    if set(fields) != {"alg", "key_id", "signed_at", "value"} or fields["alg"] != SIGNATURE_ALG:
        raise MamlSignatureError(
            f"the signature entry needs alg: {SIGNATURE_ALG}, key_id, signed_at and value",
            field="signature",
        )
    try:
        value = base64.b64decode(fields["value"], validate=True)
    except binascii.Error as exc:
        raise MamlSignatureError(
            "the signature value is not valid base64", field="signature"
        ) from exc
    if base64.b64encode(value).decode() != fields["value"]:
        raise MamlSignatureError(
            "the signature value is not in canonical base64", field="signature"
        )
    newline = entry[0][len("signature:") :]
    if "".join(entry) != "".join(
        _render_entry(fields["key_id"], fields["signed_at"], fields["value"], newline)
    ):
        raise MamlSignatureError(
            "the signature entry was altered (it must be exactly as dunes maml sign wrote it)",
            field="signature",
        )
    key = next((k for k in public_keys if key_id(k) == fields["key_id"]), None)
    if key is None:
        raise MamlSignatureError(
            f"signed by {fields['key_id']}, which is none of the {len(public_keys)} key(s) given",
            field="signature",
        )
    try:
        key.verify(
            value, _message(fields["key_id"], fields["signed_at"], signed_region(unsigned)), CONTEXT
        )
    except InvalidSignature as exc:
        raise MamlSignatureError(
            "the signature does not verify: the document changed after signing", field="signature"
        ) from exc
    return SignatureInfo(key_id=fields["key_id"], signed_at=fields["signed_at"])


def _sym_id(key: bytes) -> str:
    return "sha256:" + hashlib.sha256(b"maml-aes256:" + key).hexdigest()


def _wrap(data: bytes) -> str:
    text = base64.b64encode(data).decode()
    return "\n".join(text[i : i + 76] for i in range(0, len(text), 76)) + "\n"


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error as exc:
        raise MamlError(f"{what} is not valid base64", field="document") from exc


def encrypt_document(text: str, key: bytes, *, section: str | None = None) -> str:
    """Encrypt the whole document, or one section's body, with AES-256-GCM under ``key``.

    Raises:
        MamlError: the section does not exist.
    """
    nonce = os.urandom(12)
    kid = _sym_id(key)
    if section is None:
        doc = parse_document(text)
        version = doc.front_matter.version if doc.front_matter else "1.0"
        aad = b"maml-v1:document:" + kid.encode()
        cipher = AESGCM(key).encrypt(nonce, text.encode(), aad)
        return (
            f"---\nschema_version: '{version}'\nencryption: 2048-AES\nencrypted:\n  alg: {CIPHER}\n"
            f"  key_id: {kid}\n  nonce: {base64.b64encode(nonce).decode()}\n  scope: document\n---\n"
            f"# Encrypted MAML document\n\n```maml-encrypted\n{_wrap(cipher)}```\n"
        )
    doc = parse_document(text)
    lines = split_lines(text)
    target = next((s for s in doc.sections if s.title == section), None)
    if target is None:
        titles = ", ".join(s.title for s in doc.sections) or "none"
        raise MamlError(f"no section titled {section!r}; sections: {titles}", field="section")
    later = [s.line for s in doc.sections if s.line > target.line and s.level <= target.level]
    stop = min([*later, doc.history_line or len(lines) + 1]) - 1
    plain = "".join(lines[target.line : stop])
    aad = b"maml-v1:section:" + section.encode()
    cipher = AESGCM(key).encrypt(nonce, plain.encode(), aad)
    block = (
        f"\n```maml-encrypted {{alg={CIPHER} key_id={kid} nonce={base64.b64encode(nonce).decode()}}}\n"
        f"{_wrap(cipher)}```\n\n"
    )
    return "".join(lines[: target.line]) + block + "".join(lines[stop:])


def decrypt_document(text: str, key: bytes) -> str:
    """Undo :func:`encrypt_document` (whole document or every encrypted section).

    Raises:
        MamlError: wrong key, or the ciphertext was changed.
    """
    doc = parse_document(text)
    kid = _sym_id(key)
    front = doc.front_matter
    if front is not None and front.encrypted is not None:
        if front.encrypted.key_id != kid:
            raise MamlError(
                f"encrypted for key {front.encrypted.key_id}, not this key ({kid})", field="key"
            )
        block = next((b for b in doc.blocks if b.language == "maml-encrypted"), None)
        if block is None:
            raise MamlError("the encrypted document has no maml-encrypted block", field="document")
        try:
            plain = AESGCM(key).decrypt(
                _b64(front.encrypted.nonce, "nonce"),
                _b64(block.content, "ciphertext"),
                b"maml-v1:document:" + kid.encode(),
            )
        except (InvalidTag, ValueError) as exc:
            raise MamlError(
                "decryption failed: the ciphertext or its header was changed", field="document"
            ) from exc
        return plain.decode()
    lines = split_lines(text)
    for block in reversed([b for b in doc.blocks if b.encrypted]):
        if block.attributes.get("key_id") != kid:
            raise MamlError(f"section {block.section!r} is encrypted for another key", field="key")
        try:
            plain = AESGCM(key).decrypt(
                _b64(block.attributes.get("nonce", ""), "nonce"),
                _b64(block.content, "ciphertext"),
                b"maml-v1:section:" + block.section.encode(),
            )
        except (InvalidTag, ValueError) as exc:
            raise MamlError(
                f"decryption of section {block.section!r} failed: changed or wrong key",
                field="document",
            ) from exc
        start = block.line - 1
        stop = block.end_line
        if start > 0 and not lines[start - 1].strip():
            start -= 1
        if stop < len(lines) and not lines[stop].strip():
            stop += 1
        lines[start:stop] = [plain.decode()]
    return "".join(lines)
