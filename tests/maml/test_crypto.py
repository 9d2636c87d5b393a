"""The 2048-AES profile: embedded ML-DSA-65 signatures and AES-256-GCM encryption."""

from __future__ import annotations

from pathlib import Path

import pytest

from dunes.errors import MamlError, MamlSignatureError
from dunes.maml import (
    decrypt_document,
    encrypt_document,
    generate_keypair,
    generate_symmetric_key,
    load_document,
    load_public_key,
    load_symmetric_key,
    sign_document,
    verify_document,
)
from dunes.maml.crypto import signed_region, strip_signature
from tests.maml.conftest import doc

TEXT = doc("## Setup\n```bash {name=setup}\necho hi\n```\n\nSome prose.\n")


def test_sign_embeds_and_verifies(private_key, public_key) -> None:  # type: ignore[no-untyped-def]
    signed = sign_document(TEXT, private_key)
    assert strip_signature(signed)[0] == TEXT
    parsed = load_document(signed)
    assert parsed.front_matter is not None and parsed.front_matter.signature is not None
    info = verify_document(signed, [public_key])
    assert info.key_id.startswith("sha256:")
    # Re-signing replaces the signature instead of adding a second one.
    assert sign_document(signed, private_key).count("signature:") == 1


def test_every_tampered_byte_fails(private_key, public_key) -> None:  # type: ignore[no-untyped-def]
    signed = sign_document(TEXT, private_key).encode()
    value_start = signed.index(b"  value: ") + 9
    value_end = signed.index(b"\n", value_start)
    # Every byte outside the 4412-character signature value, and a spread of bytes inside it.
    positions = [i for i in range(len(signed)) if not value_start < i < value_end - 1]
    positions += list(range(value_start, value_end, 37))
    for i in positions:
        for flip in (0x01, 0x20):
            tampered = bytearray(signed)
            tampered[i] ^= flip
            try:
                text = tampered.decode()
            except UnicodeDecodeError:
                continue  # not text at all: rejected before any MAML code runs
            with pytest.raises(MamlError):
                verify_document(text, [public_key])


def test_inserted_and_deleted_bytes_fail(private_key, public_key) -> None:  # type: ignore[no-untyped-def]
    signed = sign_document(TEXT, private_key)
    for i in range(0, len(signed), 7):
        for tampered in (signed[:i] + " " + signed[i:], signed[:i] + signed[i + 1 :]):
            with pytest.raises(MamlError):
                verify_document(tampered, [public_key])


def test_unsigned_and_foreign_keys_fail(private_key, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MamlSignatureError, match="not signed"):
        verify_document(TEXT, [private_key.public_key()])
    _, other_pub = generate_keypair(tmp_path / "other")
    with pytest.raises(MamlSignatureError, match="none of the 1 key"):
        verify_document(sign_document(TEXT, private_key), [load_public_key(other_pub.read_bytes())])


def test_history_is_outside_the_signature(private_key, public_key) -> None:  # type: ignore[no-untyped-def]
    signed = sign_document(TEXT, private_key)
    with_history = signed + "## History\n\n### entry\n"
    verify_document(with_history, [public_key])
    assert signed_region(strip_signature(with_history)[0]) == strip_signature(signed)[0].encode()
    # Prose moved after the heading is no longer signed content, so it fails.
    with pytest.raises(MamlSignatureError):
        verify_document(
            signed.replace("Some prose.\n", "") + "## History\n\nSome prose.\n", [public_key]
        )


def test_wrong_key_file_types_are_named(keypair) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MamlSignatureError, match="not a PEM public key"):
        load_public_key(keypair[0].read_bytes() + b"junk")
    with pytest.raises(MamlError, match="not a MAML AES key"):
        load_symmetric_key(keypair[1].read_bytes())


def test_encrypt_whole_document_roundtrip(tmp_path: Path) -> None:
    key = load_symmetric_key(generate_symmetric_key(tmp_path / "aes").read_bytes())
    sealed = encrypt_document(TEXT, key)
    assert "echo hi" not in sealed
    parsed = load_document(sealed)
    assert parsed.front_matter is not None and parsed.front_matter.encrypted is not None
    assert decrypt_document(sealed, key) == TEXT
    other = load_symmetric_key(generate_symmetric_key(tmp_path / "aes2").read_bytes())
    with pytest.raises(MamlError, match="not this key"):
        decrypt_document(sealed, other)
    body_start = sealed.index("```maml-encrypted\n") + len("```maml-encrypted\n")
    flipped = (
        sealed[:body_start] + ("B" if sealed[body_start] == "A" else "A") + sealed[body_start + 1 :]
    )
    with pytest.raises(MamlError, match="changed"):
        decrypt_document(flipped, key)


def test_encrypt_one_section_roundtrip(tmp_path: Path) -> None:
    key = load_symmetric_key(generate_symmetric_key(tmp_path / "aes").read_bytes())
    text = doc(
        "## Public\nvisible\n\n## Secret\n```bash\necho secret\n```\n\n## After\nstill here\n"
    )
    sealed = encrypt_document(text, key, section="Secret")
    assert "echo secret" not in sealed and "visible" in sealed and "still here" in sealed
    assert [b.language for b in load_document(sealed).blocks] == ["maml-encrypted"]
    assert decrypt_document(sealed, key) == text
    with pytest.raises(MamlError, match="no section titled 'Nope'"):
        encrypt_document(text, key, section="Nope")
