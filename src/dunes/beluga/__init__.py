"""BELUGA: the provenance graph (W3C PROV) and the job store, on SQLite or PostgreSQL."""

from __future__ import annotations

from dunes.beluga.models import (
    ACTIVITY_KINDS,
    AGENT_KINDS,
    ENTITY_KINDS,
    JOB_STATUSES,
    RELATIONS,
    Edge,
    JobEventRecord,
    JobRecord,
    Lineage,
    Node,
    StepEvent,
)
from dunes.beluga.store import GraphStore, canonical_json, content_id, open_store, shared_store

__all__ = [
    "ACTIVITY_KINDS",
    "AGENT_KINDS",
    "ENTITY_KINDS",
    "JOB_STATUSES",
    "RELATIONS",
    "Edge",
    "GraphStore",
    "JobEventRecord",
    "JobRecord",
    "Lineage",
    "Node",
    "StepEvent",
    "canonical_json",
    "content_id",
    "import_quantum_graph_yaml",
    "open_store",
    "shared_store",
]


def import_quantum_graph_yaml(store: GraphStore, data: object) -> dict[str, str]:
    """Load the seed's ``quantum_graph: {nodes: [...]}`` YAML into ``store``."""
    from dunes.beluga.exchange import import_quantum_graph_yaml as _import

    return _import(store, data)  # type: ignore[arg-type]
