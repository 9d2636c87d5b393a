"""``dunes simulate`` records into the graph; ``dunes graph ...`` reads it back."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from dunes.beluga import open_store
from dunes.config import Settings
from dunes.interfaces.cli import app, main

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_simulate_records_and_lineage_shows_the_circuit(settings: Settings) -> None:
    _ok("simulate", "h(0); cx(0,1); cx(1,2)")
    states = json.loads(_ok("graph", "list", "--kind", "quantum_state", "--json"))
    assert len(states) == 1
    state_id = states[0]["id"]
    found = json.loads(_ok("graph", "lineage", state_id[:10], "--depth", "1", "--json"))
    circuits = [n for n in found["nodes"] if n["kind"] == "circuit"]
    assert [c["data"]["circuit"] for c in circuits] == ["h(0); cx(0,1); cx(1,2)"]
    assert found["upstream"][circuits[0]["id"]] == 1
    table = _ok("graph", "lineage", state_id[:10])
    assert "h(0); cx(0,1); cx(1,2)" in table and "root" in table

    shown = json.loads(_ok("graph", "show", state_id[:10], "--json"))
    assert shown["node"]["id"] == state_id
    assert {e["relation"] for e in shown["edges"]} == {"wasGeneratedBy", "wasDerivedFrom"}
    assert "quantum_state" in _ok("graph", "show", state_id[:10])

    _ok("simulate", "h(0)", "--no-record")
    stats = json.loads(_ok("graph", "stats", "--json"))
    assert stats["kinds"]["circuit"] == 1  # the unrecorded run left no trace
    assert stats["kinds"]["simulation"] == 1
    assert "4 nodes" in _ok("graph", "stats")


def test_export_to_files_opens_in_networkx(settings: Settings, tmp_path: Path) -> None:
    _ok("simulate", "h(0); cx(0,1)", "--shots", "8", "--seed", "1")
    for fmt in ("json", "graphml", "prov", "yaml"):
        _ok("graph", "export", "--format", fmt, "--out", str(tmp_path / f"g.{fmt}"))
    graph = nx.node_link_graph(json.loads((tmp_path / "g.json").read_text()))
    assert nx.is_isomorphic(graph, nx.read_graphml(tmp_path / "g.graphml", force_multigraph=True))
    assert graph.number_of_nodes() == 4
    assert "wasGeneratedBy" in json.loads((tmp_path / "g.prov").read_text())
    assert "quantum_graph" in (tmp_path / "g.yaml").read_text()
    assert _ok("graph", "export", "--format", "json").startswith("{")


def test_import_then_search_by_vector(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(
        "quantum_graph:\n  nodes:\n    - {id: bell, type: quantum_circuit, data: 'h(0); cx(0,1)'}\n"
    )
    assert "imported 1 nodes" in _ok("graph", "import", str(path))
    with open_store(settings) as store:
        near = store.add_entity("task", {"text": "bell"}, embedding=[1.0, 0.0, 0.0])
        store.add_entity("task", {"text": "ghz"}, embedding=[0.0, 1.0, 0.0])
    found = json.loads(_ok("graph", "search", "--vector", "[0.9, 0.1, 0]", "--top", "1", "--json"))
    hits = found["hits"]
    assert [h["node"]["id"] for h in hits] == [near]
    assert hits[0]["score"] == pytest.approx(0.9 / (0.82**0.5), abs=1e-6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["graph", "show", "nothere"], "no node with id or id prefix 'nothere'"),
        (["graph", "lineage", "x", "--depth", "500"], "depth must be a whole number from 0 to 100"),
        (["graph", "export", "--format", "csv"], "accepted are json, graphml, prov, yaml"),
        (["graph", "search", "--vector", "[1,"], "--vector must be a JSON list"),
    ],
)
def test_bad_input_is_one_line_not_a_traceback(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.setattr(sys, "argv", ["dunes", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert message in err.replace("\n", " ")
    assert "Traceback" not in err
