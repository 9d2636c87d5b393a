"""Exports of the graph (node-link JSON, GraphML, PROV-JSON, the seed's YAML) and imports back.

Node-link JSON is the lossless form (ids, times and embeddings kept) and reads with
``networkx.node_link_graph``; GraphML opens in Gephi and ``networkx.read_graphml`` (``data`` is a
JSON string there, GraphML has no nested values); PROV-JSON follows the W3C PROV-JSON note; the
YAML form is the seed's ``quantum_graph: {nodes: [{id, type, data}]}`` plus an ``edges`` list.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dunes.beluga._sql import _check_id
from dunes.beluga.batch import _vector
from dunes.beluga.canonical import circuit_data, jsonable
from dunes.beluga.models import KINDS, RELATIONS, Category, Node
from dunes.constants import GRAPH_FORMATS
from dunes.errors import DunesError, InvalidInputError

if TYPE_CHECKING:
    import networkx as nx

    from dunes.beluga.store import GraphStore

FORMATS = GRAPH_FORMATS
PROV_NAMESPACE = "urn:dunes:beluga:"
_SEED_TYPES = {"quantum_circuit": "circuit"}


def export_text(store: GraphStore, fmt: str) -> str:
    """The whole graph in ``fmt`` (json, graphml, prov, yaml).

    Raises:
        InvalidInputError: an unknown format.
    """
    if fmt == "json":
        return json.dumps(node_link(store), indent=1, ensure_ascii=False)
    if fmt == "graphml":
        import networkx as nx

        return "\n".join(nx.generate_graphml(to_networkx(store, flat=True))) + "\n"
    if fmt == "prov":
        return json.dumps(prov_json(store), indent=1, ensure_ascii=False)
    if fmt == "yaml":
        import yaml

        return str(yaml.safe_dump(quantum_graph(store), sort_keys=False, allow_unicode=True))
    raise InvalidInputError(
        f"unknown export format {fmt!r}: accepted are {', '.join(FORMATS)}", field="format"
    )


def _node_attrs(node: Node) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "category": node.category,
        "kind": node.kind,
        "data": node.data,
        "created_at": node.created_at.isoformat(),
    }
    if node.label is not None:
        attrs["label"] = node.label
    if node.embedding is not None:
        attrs["embedding"] = node.embedding
    return attrs


def node_link(store: GraphStore) -> dict[str, Any]:
    """A networkx node-link document of the whole graph (a directed multigraph, keyed by relation)."""
    return {
        "directed": True,
        "multigraph": True,
        "graph": {"name": "beluga", "exported_at": datetime.now(UTC).isoformat()},
        "nodes": [{"id": n.id, **_node_attrs(n)} for n in store.iter_nodes()],
        "edges": [
            {
                "source": e.src,
                "target": e.dst,
                "key": e.relation,
                "relation": e.relation,
                "created_at": e.created_at.isoformat(),
            }
            for e in store.iter_edges()
        ],
    }


def to_networkx(store: GraphStore, *, flat: bool = False) -> nx.MultiDiGraph:
    """The graph as a ``networkx.MultiDiGraph``; ``flat`` turns ``data`` into a JSON string and
    drops embeddings (what GraphML can hold)."""
    import networkx as nx

    graph = nx.MultiDiGraph(name="beluga")
    for node in store.iter_nodes():
        attrs = _node_attrs(node)
        if flat:
            attrs["data"] = json.dumps(node.data, sort_keys=True, ensure_ascii=False)
            attrs.pop("embedding", None)
        graph.add_node(node.id, **attrs)
    for edge in store.iter_edges():
        graph.add_edge(
            edge.src,
            edge.dst,
            key=edge.relation,
            relation=edge.relation,
            created_at=edge.created_at.isoformat(),
        )
    return graph


_PROV_ROLES: dict[str, tuple[str, str]] = {
    "used": ("prov:activity", "prov:entity"),
    "wasGeneratedBy": ("prov:entity", "prov:activity"),
    "wasAssociatedWith": ("prov:activity", "prov:agent"),
    "wasDerivedFrom": ("prov:generatedEntity", "prov:usedEntity"),
    "wasInformedBy": ("prov:informed", "prov:informant"),
}


def prov_json(store: GraphStore) -> dict[str, Any]:
    """The graph as a W3C PROV-JSON document (ids under the ``dunes:`` prefix)."""
    doc: dict[str, Any] = {
        "prefix": {"dunes": PROV_NAMESPACE},
        "entity": {},
        "activity": {},
        "agent": {},
    }
    for node in store.iter_nodes():
        record: dict[str, Any] = {
            "prov:type": {"$": f"dunes:{node.kind}", "type": "prov:QUALIFIED_NAME"},
            "dunes:data": json.dumps(node.data, sort_keys=True, ensure_ascii=False),
        }
        if node.label is not None:
            record["prov:label"] = node.label
        if node.category == "activity":
            record["prov:startTime"] = node.created_at.isoformat()
        else:
            record["dunes:createdAt"] = node.created_at.isoformat()
        doc[node.category][f"dunes:{node.id}"] = record
    counters: dict[str, int] = {}
    for edge in store.iter_edges():
        src_role, dst_role = _PROV_ROLES[edge.relation]
        counters[edge.relation] = counters.get(edge.relation, 0) + 1
        doc.setdefault(edge.relation, {})[f"_:{edge.relation}{counters[edge.relation]}"] = {
            src_role: f"dunes:{edge.src}",
            dst_role: f"dunes:{edge.dst}",
        }
    return doc


def quantum_graph(store: GraphStore) -> dict[str, Any]:
    """The seed's YAML form: circuits carry their seed notation as ``data``."""
    out_nodes: list[dict[str, Any]] = []
    for node in store.iter_nodes():
        entry: dict[str, Any] = {"id": node.id, "type": node.kind}
        if node.kind == "circuit" and isinstance(node.data.get("circuit"), str):
            entry["type"] = "quantum_circuit"
            entry["data"] = node.data["circuit"]
        else:
            entry["data"] = node.data
        if node.label is not None:
            entry["label"] = node.label
        out_nodes.append(entry)
    out_edges = [
        {"source": e.src, "relation": e.relation, "target": e.dst} for e in store.iter_edges()
    ]
    return {"quantum_graph": {"nodes": out_nodes, "edges": out_edges}}


# -- imports ---------------------------------------------------------------------------------


def _category_of(kind: str) -> Category | None:
    for category, kinds in KINDS.items():
        if kind in kinds:
            return category
    return None


def _loads_json(data: Mapping[str, Any] | str) -> Mapping[str, Any]:
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"node-link JSON does not parse: line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from exc
    if not isinstance(data, Mapping):
        raise InvalidInputError("node-link JSON must be an object with 'nodes' and 'edges'")
    return data


def _time(value: Any, where: str) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInputError(
            f"{where}: created_at {value!r} is not an ISO 8601 time", field=where
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def import_node_link(store: GraphStore, data: Mapping[str, Any] | str) -> dict[str, int]:
    """Load a node-link document (as :func:`node_link` writes it), keeping ids and times.

    Nodes already stored are left as they are; edges are checked like :meth:`GraphStore.relate`.
    Returns ``{"nodes": read, "edges": read}``.

    Raises:
        InvalidInputError: a node or edge is malformed (the message says which).
    """
    doc = _loads_json(data)
    raw_nodes = doc.get("nodes")
    raw_edges = doc.get("edges", doc.get("links", []))
    if not isinstance(raw_nodes, list) or not isinstance(raw_edges, list):
        raise InvalidInputError(
            "node-link JSON needs a 'nodes' list and an 'edges' (or 'links') list"
        )
    batch = store.batch()
    for index, item in enumerate(raw_nodes):
        where = f"nodes[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidInputError(f"{where} must be an object", field=where)
        node_id = _check_id(item.get("id"), f"{where}.id")  # type: ignore[arg-type]
        kind = item.get("kind")
        category = _category_of(kind) if isinstance(kind, str) else None
        if category is None or item.get("category", category) != category:
            known = ", ".join(sorted(set().union(*KINDS.values())))
            raise InvalidInputError(
                f"{where}: kind {kind!r} with category {item.get('category')!r} is not a known "
                f"node kind (accepted: {known})",
                field=where,
            )
        payload = jsonable(item.get("data") or {})
        if not isinstance(payload, dict):
            raise InvalidInputError(f"{where}.data must be an object", field=where)
        embedding = item.get("embedding")
        batch.node(
            category,
            str(kind),
            payload,
            id=node_id,
            embedding=_vector(embedding, f"{where}.embedding") if embedding is not None else None,
            label=item.get("label"),
            keep_existing=True,
            created_at=_time(item.get("created_at"), where),
        )
    for index, item in enumerate(raw_edges):
        where = f"edges[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidInputError(f"{where} must be an object", field=where)
        relation = item.get("relation", item.get("key"))
        src, dst = item.get("source"), item.get("target")
        if relation not in RELATIONS or not isinstance(src, str) or not isinstance(dst, str):
            raise InvalidInputError(
                f"{where} needs source, target and a relation (one of {', '.join(RELATIONS)})",
                field=where,
            )
        batch.relate(src, str(relation), dst, created_at=_time(item.get("created_at"), where))
    store.write(batch, what="importing a node-link graph")
    return {"nodes": len(raw_nodes), "edges": len(raw_edges)}


def graphml_node_link(text: str) -> dict[str, Any]:
    """A GraphML export (as :func:`export_text` writes it) read back as a node-link document.

    Raises:
        InvalidInputError: the XML does not parse or a node lacks its kind.
    """
    import networkx as nx

    try:
        graph = nx.parse_graphml(text)
    except Exception as exc:  # networkx raises assorted XML and type errors
        raise InvalidInputError(f"GraphML does not parse: {exc}", field="graph") from exc
    out_nodes = []
    for node_id, attrs in graph.nodes(data=True):
        raw = attrs.get("data", "{}")
        try:
            payload = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"GraphML node {node_id}: data is not JSON ({exc.msg})", field="graph"
            ) from exc
        out_nodes.append({"id": node_id, **attrs, "data": payload})
    out_edges = [
        {"source": src, "target": dst, **attrs} for src, dst, attrs in graph.edges(data=True)
    ]
    return {"nodes": out_nodes, "edges": out_edges}


def prov_node_link(text: str) -> dict[str, Any]:
    """A PROV-JSON export (as :func:`prov_json` writes it) read back as a node-link document.

    Raises:
        InvalidInputError: the JSON does not parse or is not a dunes PROV document.
    """
    doc = _loads_json(text)
    out_nodes = []
    for category in ("entity", "activity", "agent"):
        records = doc.get(category) or {}
        if not isinstance(records, Mapping):
            raise InvalidInputError(f"PROV-JSON: {category} must be an object", field="graph")
        for name, record in records.items():
            kind = str(record.get("prov:type", {}).get("$", "")).removeprefix("dunes:")
            out_nodes.append(
                {
                    "id": str(name).removeprefix("dunes:"),
                    "category": category,
                    "kind": kind,
                    "label": record.get("prov:label"),
                    "data": json.loads(record.get("dunes:data") or "{}"),
                    "created_at": record.get("prov:startTime") or record.get("dunes:createdAt"),
                }
            )
    out_edges = []
    for relation, (src_role, dst_role) in _PROV_ROLES.items():
        for record in (doc.get(relation) or {}).values():
            out_edges.append(
                {
                    "source": str(record.get(src_role, "")).removeprefix("dunes:"),
                    "target": str(record.get(dst_role, "")).removeprefix("dunes:"),
                    "relation": relation,
                }
            )
    return {"nodes": out_nodes, "edges": out_edges}


def detect_import_format(text: str, suffix: str | None = None) -> str:
    """json, graphml, prov or yaml: what an export file holds, by its content first."""
    head = text.lstrip()[:2000]
    if head.startswith("<"):
        return "graphml"
    if head.startswith("{"):
        return "prov" if '"prefix"' in head and '"entity"' in text else "json"
    if suffix in (".graphml", ".xml"):
        return "graphml"
    return "yaml"


def import_text(store: GraphStore, text: str, *, fmt: str | None = None) -> dict[str, int]:
    """Load an export in any of :data:`FORMATS`; returns the nodes and edges read.

    Raises:
        InvalidInputError: the format is unknown or the document malformed.
    """
    fmt = fmt or detect_import_format(text)
    if fmt == "json":
        return import_node_link(store, text)
    if fmt == "graphml":
        return import_node_link(store, graphml_node_link(text))
    if fmt == "prov":
        return import_node_link(store, prov_node_link(text))
    if fmt == "yaml":
        ids = import_quantum_graph_yaml(store, text)
        doc = _load_yaml(text)
        graph = doc.get("quantum_graph", doc) if isinstance(doc, Mapping) else {}
        return {"nodes": len(ids), "edges": len(graph.get("edges") or [])}
    raise InvalidInputError(
        f"unknown import format {fmt!r}: accepted are {', '.join(FORMATS)}", field="format"
    )


def _load_yaml(data: Mapping[str, Any] | str) -> Any:
    if not isinstance(data, str):
        return data
    import yaml

    try:
        return yaml.safe_load(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidInputError(f"quantum_graph YAML does not parse{where}: {exc}") from exc


def _state_payload(value: Any, where: str) -> dict[str, Any]:
    """The seed writes states as a list of amplitudes, possibly cut short with ``...``."""
    if isinstance(value, Mapping):
        payload: dict[str, Any] = jsonable(value)
        return payload
    if not isinstance(value, list):
        raise InvalidInputError(
            f"{where}: a quantum_state's data is a list of amplitudes or an object", field=where
        )
    truncated = bool(value) and value[-1] in ("...", "…")
    amplitudes = value[:-1] if truncated else value
    out: list[Any] = []
    for position, amp in enumerate(amplitudes):
        if isinstance(amp, bool):
            amp = None
        if isinstance(amp, int | float):
            out.append(float(amp))
        elif (
            isinstance(amp, list)
            and len(amp) == 2
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in amp)
        ):
            out.append([float(amp[0]), float(amp[1])])
        else:
            raise InvalidInputError(
                f"{where}[{position}]: amplitude {amp!r} is not a number or [re, im] pair "
                "('...' may only end the list)",
                field=where,
            )
    return {"amplitudes": out, "truncated": truncated}


def import_quantum_graph_yaml(store: GraphStore, data: Mapping[str, Any] | str) -> dict[str, str]:
    """Load the seed's BELUGA YAML (``quantum_graph: {nodes: [{id, type, data}], edges: [...]}``).

    Circuits (``quantum_circuit`` or ``circuit``) are parsed and stored under ``spec.sha256()``,
    like recorded simulations; other entities are content-addressed; activities and agents keep
    the document's id. Returns the document's ids -> store ids.

    Raises:
        InvalidInputError: the document, a node or an edge is malformed (the message says which).
    """
    from dunes.quantum import parse_circuit

    doc = _load_yaml(data)
    graph = doc.get("quantum_graph", doc) if isinstance(doc, Mapping) else None
    raw_nodes = graph.get("nodes") if isinstance(graph, Mapping) else None
    if not isinstance(raw_nodes, list):
        raise InvalidInputError(
            "expected quantum_graph: {nodes: [{id, type, data}, ...]} (a 'nodes' list)",
            field="quantum_graph.nodes",
        )
    raw_edges = graph.get("edges") or []  # type: ignore[union-attr]
    planned: list[tuple[str, Category, str, dict[str, Any], str | None]] = []
    for index, item in enumerate(raw_nodes):
        where = f"quantum_graph.nodes[{index}]"
        if not isinstance(item, Mapping) or "id" not in item or "type" not in item:
            raise InvalidInputError(f"{where} needs id and type", field=where)
        name = str(item["id"])
        kind = _SEED_TYPES.get(str(item["type"]), str(item["type"]))
        category = _category_of(kind)
        if category is None:
            accepted = ", ".join(["quantum_circuit", *sorted(set().union(*KINDS.values()))])
            raise InvalidInputError(
                f"{where} ({name}): unknown type {item['type']!r}; accepted: {accepted}",
                field=where,
            )
        value = item.get("data")
        node_id: str | None = None
        if kind == "circuit":
            text = value.get("circuit") if isinstance(value, Mapping) else value
            if not isinstance(text, str):
                raise InvalidInputError(
                    f"{where} ({name}): a circuit's data is circuit text, e.g. 'h(0); cx(0,1)'",
                    field=where,
                )
            try:
                spec = parse_circuit(text)
            except DunesError as exc:
                raise InvalidInputError(f"{where} ({name}): {exc}", field=where) from exc
            payload, node_id = circuit_data(spec), spec.sha256()
        elif kind == "quantum_state":
            payload = _state_payload(value, f"{where}.data")
        else:
            payload = jsonable(value if isinstance(value, Mapping) else {"value": value})
            if category != "entity":
                node_id = name
        planned.append((name, category, kind, payload, node_id))
    names = [p[0] for p in planned]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InvalidInputError(f"quantum_graph: node id {dup!r} appears twice")
    if not isinstance(raw_edges, list):
        raise InvalidInputError("quantum_graph.edges must be a list of {source, relation, target}")

    # Prepared with no transaction open, then written whole (see GraphBatch).
    batch = store.batch()
    ids = {
        name: batch.node(category, kind, payload, id=node_id, label=name)
        for name, category, kind, payload, node_id in planned
    }
    for index, item in enumerate(raw_edges):
        where = f"quantum_graph.edges[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidInputError(f"{where} must be an object", field=where)
        src, dst = item.get("source"), item.get("target")
        relation = item.get("relation")
        batch.relate(ids.get(str(src), str(src)), str(relation), ids.get(str(dst), str(dst)))
    store.write(batch, what="importing a quantum_graph")
    return ids
