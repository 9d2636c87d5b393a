"""The graph half of the store: nodes, relations, lineage, search, recorded simulations."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from dunes.beluga import GraphStore, content_id, open_store
from dunes.config import Settings
from dunes.errors import ArtifactError, InvalidInputError, NodeNotFoundError, StoreError
from dunes.quantum import SimulationOptions, parse_circuit, simulate

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**9), 10**9) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@hsettings(max_examples=40)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6), st.randoms())
def test_content_id_ignores_key_order(data: dict, rnd) -> None:
    items = list(data.items())
    rnd.shuffle(items)
    assert content_id("task", dict(items)) == content_id("task", data)
    assert content_id("task", data) != content_id("report", data)


def test_same_content_is_one_node(store: GraphStore) -> None:
    first = store.add_entity("task", {"text": "make a bell state", "shots": 10})
    second = store.add_entity("task", {"shots": 10, "text": "make a bell state"})
    other = store.add_entity("task", {"text": "make a ghz state", "shots": 10})
    assert first == second != other
    assert store.stats()["kinds"] == {"task": 2}
    assert store.get_node(first).data == {"text": "make a bell state", "shots": 10}


def test_unknown_kind_and_relation_name_what_is_accepted(store: GraphStore) -> None:
    with pytest.raises(InvalidInputError, match=r"accepted are .*circuit"):
        store.add_entity("spaceship", {})
    with pytest.raises(InvalidInputError, match=r"accepted are .*worker"):
        store.add_agent("circuit", {})
    a = store.add_activity("simulation", {})
    e = store.add_entity("task", {"x": 1})
    with pytest.raises(InvalidInputError, match="accepted are used, wasGeneratedBy"):
        store.relate(a, "produced", e)
    # PROV categories: `used` goes from an activity to an entity, not the other way round.
    with pytest.raises(InvalidInputError, match="from an activity to an entity"):
        store.relate(e, "used", a)
    with pytest.raises(NodeNotFoundError, match="no node nope"):
        store.relate(a, "used", "nope")
    with pytest.raises(InvalidInputError, match="non-finite"):
        store.add_entity("task", {"x": float("nan")})


def test_relate_is_idempotent_and_activity_data_is_replaced(store: GraphStore) -> None:
    run = store.add_activity("agent_run", {"step": 1}, id="run-1")
    out = store.add_entity("llm_data", {"text": "hello"})
    store.relate(out, "wasGeneratedBy", run)
    store.relate(out, "wasGeneratedBy", run)
    assert store.stats()["edges"] == 1
    store.add_activity("agent_run", {"step": 2}, id="run-1")
    assert store.get_node("run-1").data == {"step": 2}
    with pytest.raises(InvalidInputError, match="already names a agent_run activity"):
        store.add_entity("task", {}, id="run-1")


def test_prefix_ids_like_git(store: GraphStore) -> None:
    ids = [store.add_entity("task", {"n": n}) for n in range(40)]
    target = ids[0]
    prefix = next(
        target[:k] for k in range(4, 64) if sum(i.startswith(target[:k]) for i in ids) == 1
    )
    assert store.get_node(prefix).id == target
    assert store.resolve(prefix) == target
    shared = {i[:1] for i in ids}
    common = next(p for p in sorted(shared) if sum(i.startswith(p) for i in ids) > 1)
    with pytest.raises(InvalidInputError, match="ambiguous"):
        store.get_node(common)
    with pytest.raises(NodeNotFoundError, match="zzz"):
        store.get_node("zzz")
    # LIKE wildcards in a prefix are taken literally.
    store.add_activity("job", {}, id="job_a")
    with pytest.raises(NodeNotFoundError):
        store.get_node("job%")


def _chain(store: GraphStore, length: int, tag: str) -> list[str]:
    """circuit <- state_1 <- state_2 ... each derived from the one before."""
    ids = [store.add_entity("circuit", {"tag": tag, "n": 0})]
    for n in range(1, length):
        node = store.add_entity("quantum_state", {"tag": tag, "n": n})
        store.relate(node, "wasDerivedFrom", ids[-1])
        ids.append(node)
    return ids


def test_lineage_depth_limits_both_directions(store: GraphStore) -> None:
    ids = _chain(store, 8, "depth")
    middle = ids[4]
    found = store.lineage(middle, depth=2, direction="both")
    assert found.upstream == {ids[3]: 1, ids[2]: 2}
    assert found.downstream == {ids[5]: 1, ids[6]: 2}
    assert {n.id for n in found.nodes} == {ids[2], ids[3], middle, ids[5], ids[6]}
    assert {(e.src, e.dst) for e in found.edges} == {
        (ids[3], ids[2]),
        (middle, ids[3]),
        (ids[5], middle),
        (ids[6], ids[5]),
    }
    assert store.lineage(middle, depth=0).nodes[0].id == middle
    assert store.lineage(middle, depth=0).upstream == {}
    only_up = store.lineage(ids[-1], depth=100, direction="upstream")
    assert only_up.upstream == {ids[k]: 7 - k for k in range(7)}
    assert only_up.downstream == {}
    with pytest.raises(InvalidInputError, match="depth must be"):
        store.lineage(middle, depth=-1)
    with pytest.raises(InvalidInputError, match="accepted are upstream"):
        store.lineage(middle, direction="sideways")  # type: ignore[arg-type]


@hsettings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), min_size=1, max_size=30),
    st.integers(1, 5),
    st.uuids(),
)
def test_lineage_matches_networkx(store: GraphStore, pairs, depth: int, salt) -> None:
    """Upstream and downstream distances equal networkx's shortest paths on random DAGs."""
    graph = nx.DiGraph()
    ids = [store.add_entity("report", {"salt": str(salt), "n": n}) for n in range(12)]
    graph.add_nodes_from(ids)
    for a, b in pairs:
        if a > b:  # edges only from later to earlier: a DAG, like provenance
            store.relate(ids[a], "wasDerivedFrom", ids[b])
            graph.add_edge(ids[a], ids[b])
    root = ids[max(a for a, _ in pairs)]
    found = store.lineage(root, depth=depth)
    expected_up = nx.single_source_shortest_path_length(graph, root, cutoff=depth)
    expected_down = nx.single_source_shortest_path_length(graph.reverse(), root, cutoff=depth)
    expected_up.pop(root)
    expected_down.pop(root)
    assert found.upstream == expected_up
    assert found.downstream == expected_down


def test_search_ranks_by_cosine(store: GraphStore) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(30, 16))
    ids = [store.add_entity("task", {"n": n}, embedding=vectors[n]) for n in range(len(vectors))]
    store.add_entity("llm_data", {"n": 99}, embedding=vectors[3])
    store.add_entity("task", {"other": "encoder"}, embedding=[1.0, 0.0])  # other dimension
    query = vectors[3] + 0.01 * rng.normal(size=16)
    hits = store.search(query, top_k=5, kind="task")
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    expected = np.argsort(-(unit @ (query / np.linalg.norm(query))))[:5]
    assert [node.id for node, _ in hits] == [ids[i] for i in expected]
    assert hits[0][1] == pytest.approx(float(unit[3] @ query / np.linalg.norm(query)), abs=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert {node.kind for node, _ in store.search(query, top_k=40)} == {"task", "llm_data"}
    assert store.search([0.0, 1.0], top_k=3)[0][0].data == {"other": "encoder"}
    with pytest.raises(InvalidInputError, match="all zeros"):
        store.search(np.zeros(16))
    with pytest.raises(InvalidInputError, match="unknown kind"):
        store.search(query, kind="nope")


def test_record_simulation_links_circuit_state_and_device(store: GraphStore) -> None:
    spec = parse_circuit("h(0); cx(0,1); cx(1,2)")
    result = simulate(spec, SimulationOptions())
    ids = store.record_simulation(spec, result)
    assert ids["circuit"] == spec.sha256()
    state = store.get_node(ids["quantum_state"])
    assert state.kind == "quantum_state"
    np.testing.assert_allclose(store.load_state(state.id), result.state, atol=1e-12)
    lineage = store.lineage(ids["quantum_state"], depth=2, direction="upstream")
    assert lineage.upstream[ids["circuit"]] == 1
    assert lineage.upstream[ids["simulation"]] == 1
    assert set(lineage.kinds()) == {"quantum_state", "circuit", "simulation", "device"}
    relations = {(e.src, e.relation, e.dst) for e in lineage.edges}
    assert (ids["simulation"], "used", ids["circuit"]) in relations
    assert (ids["quantum_state"], "wasGeneratedBy", ids["simulation"]) in relations
    # The same circuit run again is the same circuit node (and the same state), a new simulation.
    again = store.record_simulation(spec, result)
    assert again["circuit"] == ids["circuit"]
    assert again["quantum_state"] == ids["quantum_state"]
    assert again["simulation"] != ids["simulation"]
    assert store.stats()["kinds"]["circuit"] == 1


def test_record_simulation_with_job_finds_the_job(store: GraphStore) -> None:
    store.create_job(job_id="job-sim", kind="simulate", input={"circuit": "h(0)"})
    spec = parse_circuit("h(0)")
    ids = store.record_simulation(spec, simulate(spec, SimulationOptions()), job_id="job-sim")
    assert [j.id for j in store.jobs_for(ids["quantum_state"])] == ["job-sim"]
    assert store.jobs_for(ids["circuit"]) == []


def test_big_states_become_checked_artifacts(store_url: str, settings: Settings) -> None:
    spec = parse_circuit("h(0); " + "; ".join(f"cx(0,{q})" for q in range(1, 12)))
    result = simulate(spec, SimulationOptions())
    with open_store(settings, url=store_url) as store:
        ids = store.record_simulation(spec, result)
        node = store.get_node(ids["quantum_state"])
        assert "statevector" not in node.data
        path = Path(node.data["artifact"]["path"])
        assert path.is_file() and path.is_relative_to(settings.artifacts_dir)
        assert (
            node.data["artifact"]["sha256"]
            == hashlib.sha256(np.ascontiguousarray(np.load(path)).tobytes()).hexdigest()
        )
        state = store.load_state(ids["quantum_state"])
        assert state is not None
        np.testing.assert_allclose(np.abs(state[[0, -1]]) ** 2, [0.5, 0.5], atol=1e-12)
        # corrupt it: same shape, other content
        np.save(path, np.zeros(2**12, dtype=state.dtype))
        with pytest.raises(ArtifactError, match=re.escape(f"corrupt: {path}")):
            store.load_state(ids["quantum_state"])
        path.unlink()
        with pytest.raises(ArtifactError, match=re.escape(f"missing: {path}")):
            store.load_state(ids["quantum_state"])
        with pytest.raises(ArtifactError, match="not an artifact reference"):
            store.load_artifact({"path": str(path)})


def test_unreachable_database_is_a_store_error(settings: Settings) -> None:
    with pytest.raises(StoreError, match=re.escape("127.0.0.1:1")):
        open_store(settings, url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(StoreError, match="accepted are sqlite and postgresql"):
        open_store(settings, url="mysql://x@y/z")
    with pytest.raises(StoreError, match="invalid database URL"):
        open_store(settings, url="not a url")


def test_default_store_is_sqlite_in_the_data_dir(settings: Settings) -> None:
    with open_store(settings) as store:
        store.add_entity("task", {"hello": "world"})
        assert store.dialect == "sqlite"
    assert (settings.data_dir / "beluga.sqlite3").is_file()
    with open_store(settings) as store:
        assert store.stats()["nodes"] == 1
        assert json.loads(json.dumps(store.stats()))["kinds"] == {"task": 1}


def test_a_batch_is_written_set_wise_and_whole_or_not_at_all(store: GraphStore) -> None:
    batch = store.batch()
    task = batch.add_entity("task", {"text": "ghz"})
    run = batch.add_activity("agent_run", {"try": 1}, id="run-1")
    batch.add_activity("agent_run", {"try": 2}, id="run-2")
    model = batch.add_agent("model", {"name": "m"})
    batch.relate(run, "used", task)
    batch.relate(run, "wasAssociatedWith", model)
    batch.relate("run-2", "wasInformedBy", run)
    store.write(batch)
    assert {(e.src, e.relation, e.dst) for e in store.edges_of(run)} == {
        (run, "used", task),
        (run, "wasAssociatedWith", model),
        ("run-2", "wasInformedBy", run),
    }
    before = store.stats()

    # An id that names another kind of node: named, and nothing of the batch is kept.
    clash = store.batch()
    clash.add_entity("task", {"text": "new"})
    clash.add_activity("simulation", {}, id="run-1")
    with pytest.raises(InvalidInputError, match="run-1 already names a agent_run activity"):
        store.write(clash)
    # A relation to a node that is not there, or between nodes of the wrong categories.
    missing = store.batch()
    missing.add_entity("task", {"text": "newer"})
    missing.relate(run, "used", task)
    missing.relate(run, "used", "nowhere")
    with pytest.raises(NodeNotFoundError, match="no node nowhere"):
        store.write(missing)
    wrong = store.batch()
    wrong.relate(run, "used", task)
    wrong.relate(run, "used", model)
    with pytest.raises(InvalidInputError, match="used goes from an activity to an entity"):
        store.write(wrong)
    assert store.stats() == before

    # The same id twice in one batch: in order, the later data wins (an activity).
    twice = store.batch()
    twice.add_activity("agent_run", {"try": 3}, id="run-3")
    twice.add_activity("agent_run", {"try": 4}, id="run-3")
    store.write(twice)
    assert store.get_node("run-3").data == {"try": 4}
