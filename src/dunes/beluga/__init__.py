"""BELUGA: the provenance graph (W3C PROV) and the job store, on SQLite or PostgreSQL."""

from __future__ import annotations

from dunes.beluga.exchange import (
    export_text,
    import_node_link,
    import_quantum_graph_yaml,
    import_text,
)
from dunes.beluga.models import (
    ACTIVITY_KINDS,
    AGENT_KINDS,
    ENTITY_KINDS,
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
    "export_text",
    "import_node_link",
    "import_quantum_graph_yaml",
    "import_text",
    "open_store",
    "shared_store",
]
