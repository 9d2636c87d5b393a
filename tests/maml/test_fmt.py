"""``dunes maml fmt`` turns the seed's fences into what the author meant."""

from __future__ import annotations

from pathlib import Path

from dunes.maml import format_document, load_document, parse_document
from tests.maml.conftest import doc

SEED = Path("/work/shared/seed/000_97cc1b89442f6ad8.txt")


def seed_like() -> str:
    return (
        "```yaml\n---\nschema_version: 1.0\ncontext: Multi_GPU_Orchestration\n"
        "permissions: { execute: true, write: false }\nencryption: 2048-AES\n---\n"
        "# Multi-GPU\n## Environment Setup\n```bash\necho setup\n```\n\n"
        "## Celery Tasks\n```python\nprint('tasks')\n```\n```\n"
    )


def test_wrapped_seed_document_is_unwrapped_and_valid() -> None:
    assert not parse_document(seed_like()).ok
    fixed, changes = format_document(seed_like())
    assert changes == ["unwrapped the document from the fence of lines 1-18"]
    parsed = load_document(fixed)
    assert [(b.name, b.language) for b in parsed.blocks] == [
        ("environment-setup", "bash"),
        ("celery-tasks", "python"),
    ]


def test_nested_fence_gets_a_longer_outer_fence() -> None:
    body = "## Doc\n```yaml\nkey: 1\n```bash\necho hi\n```\nafter: 2\n```\n\n## Next\n```sh\necho ok\n```\n"
    text = doc(body)
    assert any(f.code == "fence-nested" for f in parse_document(text).errors)
    fixed, changes = format_document(text)
    assert changes == ["lines 9 and 15: outer fence lengthened to ````"]
    parsed = load_document(fixed)
    assert [b.language for b in parsed.blocks] == ["yaml", "sh"]
    assert parsed.blocks[0].content == "key: 1\n```bash\necho hi\n```\nafter: 2\n"
    assert format_document(fixed) == (fixed, [])


def test_well_formed_documents_are_unchanged() -> None:
    text = doc("````markdown\n```bash\necho\n```\n````\n\n~~~python\nx = '```'\n~~~\n")
    assert format_document(text) == (text, [])


def test_both_seed_examples_format_to_valid_documents() -> None:
    lines = SEED.read_text(encoding="utf-8").splitlines(keepends=True)
    starts = [
        i
        for i, line in enumerate(lines)
        if line.startswith("```yaml") and lines[i + 1].startswith("---")
    ]
    assert len(starts) == 2
    for start in starts:
        end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("Save as"))
        fixed, _ = format_document("".join(lines[start:end]))
        assert load_document(fixed).front_matter is not None
