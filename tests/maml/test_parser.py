"""Parsing and validation: every error names what is wrong and on which line."""

from __future__ import annotations

import pytest

from dunes.errors import MamlSyntaxError, MamlValidationError
from dunes.maml import load_document, parse_document, validate_document
from tests.maml.conftest import doc


def codes(text: str) -> dict[str, int | None]:
    return {f.code: f.line for f in parse_document(text).errors}


def test_seed_shape_parses_with_blocks_and_attributes() -> None:
    text = doc(
        "## Setup\n```bash {name=setup timeout=5}\necho hi\n```\n\n## Data\n~~~yaml\na: 1\n~~~\n"
    )
    parsed = load_document(text)
    assert [(b.name, b.language, b.line) for b in parsed.blocks] == [
        ("setup", "bash", 9),
        ("data", "yaml", 14),
    ]
    assert parsed.blocks[0].attributes == {"name": "setup", "timeout": "5"}
    assert parsed.front_matter is not None
    assert parsed.front_matter.permissions.allows("execute")
    assert not parsed.front_matter.permissions.allows("write")
    assert parsed.front_matter.version == "1.0"


def test_vendor_guide_fields_and_permission_lists() -> None:
    text = (
        "---\nmaml_version: 2.0.0\nid: urn:uuid:1234\ntype: quantum_workflow\norigin: agent://planner\n"
        "requires: {libs: [qiskit]}\ncreated_at: 2025-03-26T10:00:00Z\n"
        "permissions:\n  read: [agent://*]\n  write: [agent://beluga]\n  execute: [gateway://*]\n---\n# T\n"
    )
    front = load_document(text).front_matter
    assert front is not None and front.id == "urn:uuid:1234" and front.type == "quantum_workflow"
    assert front.permissions.allows("execute")  # gateway://* matches the runner's principal
    assert not front.permissions.allows("write")  # agent://beluga does not


def test_runme_json_attributes_and_aliases() -> None:
    parsed = load_document(doc('```py {"name": "calc", "skip": true}\nprint(1)\n```\n'))
    assert parsed.blocks[0].language == "python"
    assert parsed.blocks[0].attributes == {"name": "calc", "skip": "True"}


def test_longer_outer_fence_nests_cleanly() -> None:
    body = "## Example\n````markdown\n```bash\necho inner\n```\n````\n"
    parsed = load_document(doc(body))
    assert [b.language for b in parsed.blocks] == ["markdown"]
    assert "```bash" in parsed.blocks[0].content


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        ("# no front matter\n", "front-matter-missing", 1),
        ("", "front-matter-missing", 1),
        ("---\nschema_version: 1.0\n# never closed\n", "front-matter-unclosed", 1),
        ("---\nschema_version: 1.0\ncontext: [unclosed\n---\n", "front-matter-yaml", 4),
        ("---\n- a\n- b\n---\n", "front-matter-type", 2),
        ("---\n1: x\nschema_version: 1.0\n---\n", "front-matter-key", 2),
        ("---\ncontext: x\n---\n", "schema", 2),
        ("---\ncontext: x\nschema_version: banana\n---\n", "schema", 3),
        ("---\ncontext: x\nschema_version: 3.0\n---\n", "schema", 2),
        ("---\nschema_version: 1.0\npermissions:\n  execute: maybe\n---\n", "schema", 4),
        ("---\nschema_version: 1.0\nencryption: 4096-ROT13\n---\n", "schema", 3),
        ("---\nschema_version: 1.0\ncreated_at: not a date\n---\n", "schema", 3),
        ("---\nschema_version: 1.0\nsignature: {alg: RSA}\n---\n", "schema", 3),
        ("---\nschema_version: 1.0\nparameters: [a, b]\n---\n", "schema", 3),
        (
            doc("```bash {name=a}\necho\n```\n```sh {name=a}\necho\n```\n"),
            "block-name-duplicate",
            11,
        ),
        (doc("```bash {name=a\necho\n```\n"), "block-attributes", 8),
        (doc("```bash loose words\necho\n```\n"), "block-attributes", 8),
        (doc("```bash {timeout=-1}\necho\n```\n"), "block-attributes", 8),
        (doc("```bash\necho never closed\n"), "fence-unclosed", 8),
    ],
)
def test_each_error_names_its_line(text: str, code: str, line: int) -> None:
    found = codes(text)
    assert code in found, found
    assert found[code] == line
    with pytest.raises((MamlSyntaxError, MamlValidationError)) as info:
        load_document(text)
    assert f"line {line}" in str(info.value)


def test_schema_error_message_names_field_and_accepted_values() -> None:
    text = "---\nschema_version: 1.0\nencryption: 4096-ROT13\n---\n"
    with pytest.raises(MamlValidationError, match=r"line 3: encryption: .*'2048-AES'"):
        load_document(text)


def test_unknown_fields_are_kept_and_warned_with_line() -> None:
    parsed = parse_document(doc("", extra="flavour: vanilla\n"))
    assert parsed.ok
    assert parsed.front_matter is not None and parsed.front_matter.extras == {"flavour": "vanilla"}
    assert [(w.code, w.line) for w in parsed.warnings] == [("unknown-field", 5)]


def test_seed_nesting_is_detected_with_lines() -> None:
    body = "## Doc\n```yaml\nkey: 1\n```bash\necho hi\n```\n```\n"
    found = parse_document(doc(body))
    nested = [f for f in found.errors if f.code == "fence-nested"]
    assert [f.line for f in nested] == [11]
    assert "line 9" in nested[0].message and "closes early on line 13" in nested[0].message
    assert "dunes maml fmt" in nested[0].message


def test_wrapped_seed_document_is_reported() -> None:
    text = "```yaml\n---\nschema_version: 1.0\n---\n# T\n```bash\necho\n```\n```\n"
    with pytest.raises(MamlSyntaxError, match="wrapped in the fence of lines 1-9"):
        load_document(text)


def test_validate_report_lists_blocks_and_signature_state() -> None:
    report = validate_document(doc("```circuit {name=bell}\nh(0); cx(0,1)\n```\n"))
    assert report.valid and not report.signed and report.title == "Test"
    assert report.blocks[0]["name"] == "bell" and len(report.blocks[0]["sha256"]) == 64
    bad = validate_document("nope")
    assert not bad.valid and bad.errors[0].line == 1


def test_blocks_after_history_are_not_blocks() -> None:
    parsed = load_document(doc("```bash\necho a\n```\n\n## History\n\n```bash\necho b\n```\n"))
    assert [b.content for b in parsed.blocks] == ["echo a\n"]
    assert parsed.history_line == 12
