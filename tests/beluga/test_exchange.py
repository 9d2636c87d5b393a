"""Exports open in networkx; node-link JSON round-trips; the seed's YAML imports."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from dunes.beluga import (
    GraphStore,
    export_text,
    import_node_link,
    import_quantum_graph_yaml,
    import_text,
    open_store,
)
from dunes.beluga.exchange import detect_import_format
from dunes.config import Settings
from dunes.errors import DunesError, InvalidInputError, NodeNotFoundError
from dunes.quantum import SimulationOptions, parse_circuit, simulate

SEED_YAML = """\
quantum_graph:
  nodes:
    - id: ghz_circuit
      type: quantum_circuit
      data: "h(0); cx(0,1); cx(1,2); cx(2,3)"
    - id: statevector
      type: quantum_state
      data: [0.70710678, 0, 0, 0, 0, 0, 0, 0.70710678, ...]
    - id: llm_outputs
      type: llm_data
      data: { planner: [...], extraction: [...], validation: [...], synthesis: [...] }
"""


def _populate(store: GraphStore) -> dict[str, str]:
    spec = parse_circuit("h(0); cx(0,1)")
    ids = store.record_simulation(spec, simulate(spec, SimulationOptions(shots=16, seed=3)))
    task = store.add_entity("task", {"text": "bell state"}, embedding=[0.1, 0.2, 0.3])
    run = store.add_activity("agent_run", {"role": "planner"}, label="planner")
    model = store.add_agent("model", {"name": "minilm"})
    store.relate(run, "used", task)
    store.relate(run, "wasAssociatedWith", model)
    store.relate(ids["circuit"], "wasDerivedFrom", task)
    return {**ids, "task": task, "run": run, "model": model}


def _as_sets(store: GraphStore) -> tuple[set, set]:
    node_set = {
        (n.id, n.category, n.kind, n.label, json.dumps(n.data, sort_keys=True))
        for n in store.iter_nodes()
    }
    edge_set = {(e.src, e.relation, e.dst) for e in store.iter_edges()}
    return node_set, edge_set


def test_node_link_round_trip(store: GraphStore, settings: Settings, tmp_path: Path) -> None:
    ids = _populate(store)
    text = export_text(store, "json")
    graph = nx.node_link_graph(json.loads(text))
    assert graph.number_of_nodes() == store.stats()["nodes"]
    assert graph.number_of_edges() == store.stats()["edges"]
    assert graph.has_edge(ids["quantum_state"], ids["simulation"], key="wasGeneratedBy")
    assert graph.nodes[ids["circuit"]]["data"]["circuit"] == "h(0); cx(0,1)"

    with open_store(settings, url=f"sqlite:///{tmp_path / 'copy.sqlite3'}") as copy:
        assert import_node_link(copy, text) == {"nodes": len(graph), "edges": graph.size()}
        assert _as_sets(copy) == _as_sets(store)
        assert copy.get_node(ids["task"]).embedding == pytest.approx([0.1, 0.2, 0.3])
        assert copy.get_node(ids["task"]).created_at == store.get_node(ids["task"]).created_at
        # importing again changes nothing
        import_node_link(copy, text)
        assert _as_sets(copy) == _as_sets(store)
        assert (
            copy.lineage(ids["quantum_state"]).upstream
            == store.lineage(ids["quantum_state"]).upstream
        )


def test_graphml_opens_in_networkx(store: GraphStore, tmp_path: Path) -> None:
    ids = _populate(store)
    path = tmp_path / "graph.graphml"
    path.write_text(export_text(store, "graphml"))
    graph = nx.read_graphml(path, force_multigraph=True)
    assert set(graph.nodes) == {n.id for n in store.iter_nodes()}
    assert graph.nodes[ids["circuit"]]["kind"] == "circuit"
    assert json.loads(graph.nodes[ids["run"]]["data"]) == {"role": "planner"}
    relations = {(u, d["relation"], v) for u, v, d in graph.edges(data=True)}
    assert relations == {(e.src, e.relation, e.dst) for e in store.iter_edges()}


def test_prov_json_names_every_element(store: GraphStore) -> None:
    ids = _populate(store)
    doc = json.loads(export_text(store, "prov"))
    assert doc["prefix"]["dunes"].startswith("urn:")
    assert f"dunes:{ids['circuit']}" in doc["entity"]
    assert f"dunes:{ids['simulation']}" in doc["activity"]
    assert f"dunes:{ids['model']}" in doc["agent"]
    used = list(doc["used"].values())
    assert {"prov:activity": f"dunes:{ids['run']}", "prov:entity": f"dunes:{ids['task']}"} in used
    derived = list(doc["wasDerivedFrom"].values())
    assert {
        "prov:generatedEntity": f"dunes:{ids['circuit']}",
        "prov:usedEntity": f"dunes:{ids['task']}",
    } in derived
    total = sum(
        len(doc.get(r, {}))
        for r in ("used", "wasGeneratedBy", "wasAssociatedWith", "wasDerivedFrom", "wasInformedBy")
    )
    assert total == store.stats()["edges"]


def test_seed_yaml_imports(store: GraphStore) -> None:
    ids = import_quantum_graph_yaml(store, SEED_YAML)
    assert set(ids) == {"ghz_circuit", "statevector", "llm_outputs"}
    circuit = store.get_node(ids["ghz_circuit"])
    assert circuit.id == parse_circuit("h(0); cx(0,1); cx(1,2); cx(2,3)").sha256()
    assert circuit.label == "ghz_circuit"
    state = store.get_node(ids["statevector"]).data
    assert state["truncated"] is True
    assert state["amplitudes"][0] == pytest.approx(0.70710678)
    assert len(state["amplitudes"]) == 8
    assert store.get_node(ids["llm_outputs"]).data["planner"] == ["..."]
    # importing again is the same nodes
    assert import_quantum_graph_yaml(store, yaml.safe_load(SEED_YAML)) == ids


def test_yaml_export_reimports(store: GraphStore, settings: Settings, tmp_path: Path) -> None:
    ids = _populate(store)
    text = export_text(store, "yaml")
    doc = yaml.safe_load(text)
    circuits = [n for n in doc["quantum_graph"]["nodes"] if n["type"] == "quantum_circuit"]
    assert circuits == [
        {
            "id": ids["circuit"],
            "type": "quantum_circuit",
            "data": "h(0); cx(0,1)",
            "label": "h(0); cx(0,1)",
        }
    ]
    with open_store(settings, url=f"sqlite:///{tmp_path / 'y.sqlite3'}") as copy:
        mapping = import_quantum_graph_yaml(copy, text)
        assert mapping[ids["circuit"]] == ids["circuit"]
        assert mapping[ids["run"]] == ids["run"]
        assert {(e.relation) for e in copy.iter_edges()} == {e.relation for e in store.iter_edges()}
        assert copy.stats()["edges"] == store.stats()["edges"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("quantum_graph: [1, 2", "does not parse at line"),
        ("nodes: 3", "a 'nodes' list"),
        ("quantum_graph: {nodes: [{id: a, type: spaceship}]}", "unknown type 'spaceship'"),
        ("quantum_graph: {nodes: [{id: c, type: quantum_circuit, data: 'hh(0)'}]}", "nodes[0] (c)"),
        ("quantum_graph: {nodes: [{id: s, type: quantum_state, data: [1, x]}]}", "data[1]"),
        ("quantum_graph: {nodes: [{id: a, type: task}, {id: a, type: task}]}", "appears twice"),
        (
            "quantum_graph: {nodes: [{id: a, type: task, data: {x: 1}}],"
            " edges: [{source: a, relation: used, target: b}]}",
            "no node b",
        ),
    ],
)
def test_bad_yaml_says_what_is_wrong(store: GraphStore, text: str, message: str) -> None:
    expected = NodeNotFoundError if message.startswith("no node") else InvalidInputError
    with pytest.raises(expected) as info:
        import_quantum_graph_yaml(store, text)
    assert message in str(info.value)
    assert store.stats()["nodes"] == 0  # nothing half-imported


def test_bad_node_link_and_format(store: GraphStore) -> None:
    with pytest.raises(InvalidInputError, match="does not parse"):
        import_node_link(store, "{")
    with pytest.raises(InvalidInputError, match=r"nodes\[0\]: kind 'x'"):
        import_node_link(store, {"nodes": [{"id": "a", "kind": "x"}], "edges": []})
    with pytest.raises(InvalidInputError, match="accepted are json, graphml, prov, yaml"):
        export_text(store, "csv")


_yaml_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.sampled_from(["...", "h(0)", "h(0); cx(0,1)", "quantum_circuit", "task", "x"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["id", "type", "data", "nodes", "edges", "k"]), inner)
    ),
    max_leaves=15,
)


@hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(doc=st.dictionaries(st.sampled_from(["quantum_graph", "nodes"]), _yaml_values))
def test_any_quantum_graph_is_imported_or_refused_cleanly(
    settings: Settings, tmp_path: Path, doc: dict
) -> None:
    with open_store(settings, url=f"sqlite:///{tmp_path / 'fuzz.sqlite3'}") as store:
        try:
            ids = import_quantum_graph_yaml(store, yaml.safe_dump(doc))
        except DunesError:
            return
        for node_id in ids.values():
            assert store.get_node(node_id).label is not None


@hsettings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amplitudes=st.lists(
        st.floats(-1, 1, allow_nan=False, width=32)
        | st.tuples(st.floats(-1, 1, width=32), st.floats(-1, 1, width=32)).map(list),
        min_size=1,
        max_size=8,
    ),
    truncated=st.booleans(),
)
def test_seed_state_amplitudes_are_kept(
    settings: Settings, tmp_path: Path, amplitudes: list, truncated: bool
) -> None:
    data = amplitudes + (["..."] if truncated else [])
    doc = {"quantum_graph": {"nodes": [{"id": "s", "type": "quantum_state", "data": data}]}}
    with open_store(settings, url=f"sqlite:///{tmp_path / 'amps.sqlite3'}") as store:
        ids = import_quantum_graph_yaml(store, yaml.safe_dump(doc))
        stored = store.get_node(ids["s"]).data
    assert stored == {
        "amplitudes": [a if isinstance(a, list) else float(a) for a in amplitudes],
        "truncated": truncated,
    }


@pytest.mark.parametrize("fmt", ["json", "graphml", "prov"])
def test_every_export_imports_back(
    fmt: str, store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    _populate(store)
    text = export_text(store, fmt)
    assert detect_import_format(text) == fmt
    with open_store(settings, url=f"sqlite:///{tmp_path / f'{fmt}.sqlite3'}") as copy:
        counts = import_text(copy, text)
        stats = store.stats()
        assert counts == {"nodes": stats["nodes"], "edges": stats["edges"]}
        assert _as_sets(copy) == _as_sets(store)
