"""``GraphBatch``: graph writes prepared away from the database, then applied in one transaction.

What costs CPU in a graph write (canonical JSON, content ids, checks, embeddings as bytes, a big
state written to disk as an artifact) happens while the batch is built, with no transaction open;
``GraphStore.write`` then only runs the statements. SQLite lets one writer in at a time, so the
shorter each write holds the lock, the better several workers share one store.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dunes.beluga._sql import _check_id, _now
from dunes.beluga.canonical import circuit_data, content_id, jsonable
from dunes.beluga.models import KINDS, RELATIONS, Category
from dunes.beluga.schema import ID_LENGTH
from dunes.errors import InvalidInputError

if TYPE_CHECKING:
    from dunes.quantum import CircuitSpec, SimulationResult

INLINE_STATE_MAX_QUBITS = 10
"""States up to this many qubits stay inline in the node's JSON; larger ones become artifacts."""


def _vector(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{what} must be a list of numbers", field=what) from exc
    if array.ndim != 1 or array.size == 0:
        raise InvalidInputError(
            f"{what} must be a non-empty flat list of numbers, got shape {array.shape}", field=what
        )
    if not np.all(np.isfinite(array)):
        raise InvalidInputError(f"{what} contains NaN or infinite values", field=what)
    return array


def node_row(
    category: Category,
    kind: str,
    data: Any,
    node_id: str | None = None,
    embedding: Sequence[float] | np.ndarray | None = None,
    label: str | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """The checked column values of a node: content-addressed id unless given (activities get a
    random one), data as plain JSON, the embedding as float32 bytes.

    Raises:
        InvalidInputError: unknown kind, bad id, data or embedding (names what is accepted).
    """
    if kind not in KINDS[category]:
        raise InvalidInputError(
            f"unknown {category} kind {kind!r}: accepted are {', '.join(sorted(KINDS[category]))}",
            field="kind",
        )
    payload = jsonable(data if data is not None else {})
    if not isinstance(payload, dict):
        payload = {"value": payload}
    if node_id is None:
        node_id = uuid.uuid4().hex if category == "activity" else content_id(kind, payload)
    _check_id(node_id)
    blob, dim = None, None
    if embedding is not None:
        vector = _vector(embedding, "embedding")
        blob, dim = vector.astype("<f4").tobytes(), int(vector.size)
    return {
        "id": node_id,
        "category": category,
        "kind": kind,
        "label": None if label is None else str(label)[:ID_LENGTH],
        "data": payload,
        "embedding": blob,
        "embedding_dim": dim,
        "created_at": created_at or _now(),
    }


def edge_params(
    src_id: str, relation: str, dst_id: str, created_at: datetime | None = None
) -> dict[str, Any]:
    """The checked parameters of ``src relation dst`` (PROV direction: effect -> cause).

    Raises:
        InvalidInputError: unknown relation, or a node related to itself.
    """
    if relation not in RELATIONS:
        raise InvalidInputError(
            f"unknown relation {relation!r}: accepted are {', '.join(RELATIONS)}",
            field="relation",
        )
    if src_id == dst_id:
        raise InvalidInputError(f"a node cannot be related to itself ({src_id})")
    src_cat, dst_cat = RELATIONS[relation]
    return {
        "b_src": src_id,
        "b_dst": dst_id,
        "b_relation": relation,
        "b_created_at": created_at or _now(),
        "b_src_cat": src_cat,
        "b_dst_cat": dst_cat,
    }


class GraphBatch:
    """Nodes and relations to write together; ids are known as soon as a node is added."""

    def __init__(self, *, artifacts_dir: Path | None = None) -> None:
        self.artifacts_dir = artifacts_dir
        #: (column values, keep_existing): with keep_existing an existing node is left as is.
        self.nodes: list[tuple[dict[str, Any], bool]] = []
        self.edges: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.nodes) + len(self.edges)

    def node(
        self,
        category: Category,
        kind: str,
        data: Any,
        *,
        id: str | None = None,
        embedding: Sequence[float] | np.ndarray | None = None,
        label: str | None = None,
        keep_existing: bool = False,
        created_at: datetime | None = None,
    ) -> str:
        row = node_row(category, kind, data, id, embedding, label, created_at)
        self.nodes.append((row, keep_existing))
        return str(row["id"])

    def add_entity(self, kind: str, data: Any, **options: Any) -> str:
        return self.node("entity", kind, data, **options)

    def add_activity(self, kind: str, data: Any, **options: Any) -> str:
        return self.node("activity", kind, data, **options)

    def add_agent(self, kind: str, data: Any, **options: Any) -> str:
        return self.node("agent", kind, data, **options)

    def relate(
        self, src_id: str, relation: str, dst_id: str, *, created_at: datetime | None = None
    ) -> None:
        self.edges.append(edge_params(src_id, relation, dst_id, created_at))

    def record_simulation(
        self,
        spec: CircuitSpec,
        result: SimulationResult,
        *,
        job_id: str | None = None,
        device: str | None = None,
    ) -> dict[str, str]:
        """A simulation as PROV: the circuit (id ``spec.sha256()``), the simulation activity,
        the quantum_state it generated and the device it ran on; with ``job_id`` linked to
        that job (``wasInformedBy``). Returns the ids of circuit, simulation and state."""
        if job_id is not None:
            _check_id(job_id, "job_id")
        state_data, artifact = self._state_data(result)
        identity = dict(state_data)
        if artifact is not None:
            identity["artifact"] = {k: v for k, v in artifact.items() if k != "path"}
        state_id = content_id("quantum_state", identity)
        if artifact is not None:
            state_data["artifact"] = artifact
        outcome = "statevector" if ("statevector" in state_data or artifact) else "counts"
        if result.counts is None and outcome == "counts":
            outcome = "result"
        run_device = device or result.device
        host = socket.gethostname()
        sha = spec.sha256()
        circuit = self.add_entity(
            "circuit", circuit_data(spec), id=sha, label=spec.name or spec.to_seed()[:80]
        )
        simulation = self.add_activity(
            "simulation",
            {
                "circuit_sha256": sha,
                "num_qubits": result.num_qubits,
                "device": run_device,
                "devices": list(result.devices),
                "aer_device": result.aer_device,
                "backend": result.backend,
                "method": result.method,
                "precision": result.precision,
                "fusion": result.fusion,
                "shots": result.shots,
                "seed": result.seed,
                "reasons": list(result.reasons),
                "timings": dict(result.timings),
                "job_id": job_id,
            },
            label=result.method,
        )
        state = self.add_entity(
            "quantum_state",
            state_data,
            id=state_id,
            label=f"{result.num_qubits}-qubit {outcome} of {spec.to_seed()}",
        )
        agent = self.add_agent(
            "device", {"device": run_device, "host": host}, label=f"{run_device}@{host}"
        )
        self.relate(simulation, "used", circuit)
        self.relate(state, "wasGeneratedBy", simulation)
        self.relate(state, "wasDerivedFrom", circuit)
        self.relate(simulation, "wasAssociatedWith", agent)
        if job_id is not None:
            self.add_activity("job", {"id": job_id}, id=job_id, keep_existing=True)
            self.relate(simulation, "wasInformedBy", job_id)
        return {"circuit": circuit, "simulation": simulation, "quantum_state": state}

    def _state_data(self, result: SimulationResult) -> tuple[dict[str, Any], dict[str, Any] | None]:
        data: dict[str, Any] = {"num_qubits": result.num_qubits}
        artifact: dict[str, Any] | None = None
        if result.artifact is not None:
            artifact = result.artifact.model_dump(mode="json")
        elif result.statevector is not None and not result.statevector_truncated:
            if result.num_qubits <= INLINE_STATE_MAX_QUBITS or self.artifacts_dir is None:
                data["statevector"] = [list(pair) for pair in result.statevector]
            else:
                from dunes.quantum.result import write_array

                state = result.state
                if state is not None:
                    artifact = write_array(state, self.artifacts_dir).model_dump(mode="json")
        if (artifact is not None or result.statevector_truncated) and result.top_amplitudes:
            data["top_amplitudes"] = [a.model_dump(mode="json") for a in result.top_amplitudes]
        if result.counts is not None:
            data["counts"] = dict(result.counts)
        if result.expectation_values is not None:
            data["expectation_values"] = dict(result.expectation_values)
        if (
            result.probabilities is not None
            and "statevector" not in data
            and artifact is None
            and result.num_qubits <= INLINE_STATE_MAX_QUBITS
        ):
            data["probabilities"] = dict(result.probabilities)
        return data, artifact
