"""The shipped examples validate, sign, verify and run end to end, recorded in the BELUGA graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from dunes.config import get_settings
from dunes.errors import MamlError
from dunes.maml import (
    list_examples,
    load_document,
    load_private_key,
    load_public_key,
    read_example,
    read_history,
    run_document,
    sign_document,
    validate_document,
    verify_document,
)

REPO_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_packaged_examples_match_the_repository() -> None:
    assert list_examples() == ["beluga_multi_gpu", "multi_gpu_orchestration"]
    for name in list_examples():
        assert read_example(name) == (REPO_EXAMPLES / f"{name}.maml.md").read_text()
    assert read_example("beluga_multi_gpu.maml.md") == read_example("beluga_multi_gpu")
    with pytest.raises(MamlError, match="no example 'nope'; examples: beluga_multi_gpu"):
        read_example("nope")


@pytest.mark.parametrize("name", ["multi_gpu_orchestration", "beluga_multi_gpu"])
def test_example_validates_signs_verifies_and_runs(name: str, tmp_path: Path, keypair) -> None:  # type: ignore[no-untyped-def]
    text = read_example(name)
    report = validate_document(text)
    assert report.valid, report.errors
    assert {w.code for w in report.warnings} <= {"unsigned"}
    signed = sign_document(text, load_private_key(keypair[0].read_bytes()))
    verify_document(signed, [load_public_key(keypair[1].read_bytes())])
    path = tmp_path / f"{name}.maml.md"
    path.write_text(signed)
    settings = get_settings(maml={"require_signature": True, "trusted_keys": [str(keypair[1])]})
    result = run_document(settings=settings, text=signed, source_path=path)
    failed = [(b.name, b.reason, b.stderr[-500:]) for b in result.blocks if b.status != "ok"]
    assert result.status == "ok" and not failed, failed
    assert result.signed
    expected = [b.name for b in load_document(text).blocks]
    assert [b.name for b in result.blocks] == expected
    front = load_document(text).front_matter
    assert front is not None
    if front.permissions.allows("write"):
        (entry,) = read_history(path.read_text())
        assert entry.signed and entry.status == "ok"
        verify_document(path.read_text(), [load_public_key(keypair[1].read_bytes())])
    else:
        assert path.read_text() == signed

    from dunes.beluga import open_store

    store = open_store(settings)
    run = store.get_node(result.graph["run"])
    assert run.kind == "maml_run" and run.data["status"] == "ok"
    lineage = store.lineage(result.graph["run"], depth=1)
    linked = {node.id for node in lineage.nodes}
    assert result.graph["document"] in linked
    assert set(result.graph["outputs"]) <= linked
    if name == "beluga_multi_gpu":
        imported = result.blocks[0].data["imported"]
        assert set(imported) == {"ghz_circuit", "statevector", "llm_outputs"}
        assert store.get_node(imported["statevector"]).kind == "quantum_state"
