"""Hypothesis: no document, however broken, makes the parser raise anything but MamlError."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import mldsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunes.errors import MamlError
from dunes.maml import (
    format_document,
    parse_document,
    read_history,
    validate_document,
    verify_document,
)
from dunes.maml.crypto import signed_region, strip_signature

_KEY = mldsa.MLDSA65PrivateKey.generate().public_key()

FRAGMENTS = [
    "---\n",
    "...\n",
    "schema_version: 1.0\n",
    "maml_version: x\n",
    "permissions: {execute: true}\n",
    "permissions:\n  execute: [a]\n",
    "encryption: 2048-AES\n",
    "signature:\n  alg: ML-DSA-65\n",
    "```bash {name=a}\n",
    "```\n",
    "````\n",
    "~~~yaml\n",
    '```py {"name": 1}\n',
    "```{x=}\n",
    "## History\n",
    "# Title\n",
    "- [a\n",
    "key: [1, {2: 3}]\n",
    ": :\n",
    "? [a]\n: b\n",
    "\t\n",
    "&a [*a]\n",
    "!!python/object:os.system x\n",
    "created_at: 2025-13-45\n",
    "x: 1e999\n",
]


def _guard(text: str) -> None:
    try:
        parse_document(text)
        validate_document(text)
        format_document(text)
        read_history(text)
        signed_region(strip_signature(text)[0])
        verify_document(text, [_KEY])
    except MamlError:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=25))
def test_fragment_soup_never_crashes(parts: list[str]) -> None:
    _guard("".join(parts))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_crashes(text: str) -> None:
    _guard(text)
    _guard("---\n" + text)
