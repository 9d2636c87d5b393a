"""What the BELUGA store hands out: nodes, edges, lineage, jobs and job events.

The graph follows W3C PROV: *entities* (things), *activities* (what happened) and *agents* (who or
what was responsible), linked by PROV relations that point from the effect to its cause
(``state wasGeneratedBy simulation``, ``simulation used circuit``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from dunes.constants import TERMINAL_STATUSES, Direction, JobStatus

Category = Literal["entity", "activity", "agent"]

ENTITY_KINDS = frozenset(
    {"circuit", "quantum_state", "llm_data", "report", "maml_document", "task", "bindings"}
)
ACTIVITY_KINDS = frozenset({"job", "agent_run", "simulation", "maml_run", "sweep"})
AGENT_KINDS = frozenset({"device", "worker", "model", "user"})
KINDS: dict[Category, frozenset[str]] = {
    "entity": ENTITY_KINDS,
    "activity": ACTIVITY_KINDS,
    "agent": AGENT_KINDS,
}

# relation -> (category of src, category of dst); PROV's own direction (effect -> cause).
RELATIONS: dict[str, tuple[Category, Category]] = {
    "used": ("activity", "entity"),
    "wasGeneratedBy": ("entity", "activity"),
    "wasAssociatedWith": ("activity", "agent"),
    "wasDerivedFrom": ("entity", "entity"),
    "wasInformedBy": ("activity", "activity"),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Node(_Frozen):
    """One PROV element; ``data`` is its JSON payload (large arrays live in artifacts)."""

    id: str
    category: Category
    kind: str
    label: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    embedding: list[float] | None = Field(
        None, description="Stored vector for similarity search, when the node has one."
    )

    def summary(self, width: int = 60) -> str:
        """One line saying what the node holds: its label, circuit or text, else its data."""
        if self.label:
            text = self.label
        elif self.kind == "circuit":
            text = str(self.data.get("circuit", ""))
        elif isinstance(self.data.get("text"), str):
            text = self.data["text"]
        else:
            text = json.dumps(self.data, sort_keys=True)
        return text if len(text) <= width else text[: width - 1] + "…"

    @staticmethod
    def short_id(node_id: str, width: int = 16) -> str:
        """A node id for a table: agent runs keep their role whole (``validation@fb920bf9``),
        other ids their first ``width`` characters (a unique prefix, as git shows commits)."""
        role, at, job = node_id.partition("@")
        return f"{role}@{job[:8]}" if at else node_id[:width]


class Edge(_Frozen):
    """``src relation dst``, e.g. ``state wasGeneratedBy simulation``."""

    src: str
    relation: str
    dst: str
    created_at: datetime


class Lineage(_Frozen):
    """The neighbourhood of ``root`` up to ``depth`` hops.

    ``upstream`` maps each ancestor (what ``root`` came from) to its distance in hops,
    ``downstream`` each descendant (what came from ``root``); ``nodes`` holds all of them and the
    root, ``edges`` every relation among them.
    """

    root: str
    depth: int
    direction: Direction
    nodes: list[Node]
    edges: list[Edge]
    upstream: dict[str, int] = Field(default_factory=dict)
    downstream: dict[str, int] = Field(default_factory=dict)

    def node(self, node_id: str) -> Node:
        """The node with ``node_id`` (KeyError when it is not part of this lineage)."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def kinds(self) -> dict[str, list[str]]:
        """kind -> ids, handy to ask "which circuit is behind this state"."""
        out: dict[str, list[str]] = {}
        for node in self.nodes:
            out.setdefault(node.kind, []).append(node.id)
        return out


class JobRecord(_Frozen):
    """A job as the store keeps it; survives any broker."""

    id: str
    kind: str
    input: dict[str, Any]
    status: JobStatus
    progress: float
    step: str | None = None
    error: str | None = None
    result: dict[str, Any] | None = None
    result_ref: str | None = None
    device: str | None = None
    worker: str | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES


class StepEvent(NamedTuple):
    """A step a running job reported: what ``record_steps`` writes."""

    step: str
    progress: float
    message: str
    at: datetime


class JobEventRecord(_Frozen):
    """One progress event of a job; ``seq`` counts from 1 within each job."""

    job_id: str
    seq: int
    at: datetime
    step: str
    progress: float
    message: str
    status: JobStatus | None = None
