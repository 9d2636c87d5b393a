"""Recording a job in the provenance graph: the one place a job's nodes and relations are made.

The orchestrator's pipeline calls ``record_job`` at its last step; the MAML runner records its
runs through ``dunes.beluga.maml_record``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dunes.beluga.store import jsonable
from dunes.errors import NodeNotFoundError
from dunes.quantum import CircuitSpec, SimulationResult

if TYPE_CHECKING:
    from dunes.beluga.batch import GraphBatch
    from dunes.beluga.store import GraphStore


def record_job(
    graph: GraphStore,
    *,
    job_id: str | None,
    device: str,
    task: str | None,
    specs: Sequence[CircuitSpec],
    results: Sequence[SimulationResult],
    role_outputs: Sequence[Any] = (),
    defer_to: list[GraphBatch] | None = None,
) -> dict[str, Any]:
    """Record the run in the graph: simulations linked to the job, and each role's output.

    Every role output becomes an ``agent_run`` activity (id ``<role>@<job>``, so that a job id
    prefix names the job alone) that generated an ``llm_data`` (or ``report``) entity. What is
    searched carries an embedding, once: the task (the planner's embedding of its text) and
    the report (the synthesis's embedding of the report); the other roles' outputs repeat the
    task's or are verdicts, and carry none. Simulations already linked to the job (a re-run after a
    crash that got this far) are not recorded again. The whole run is prepared first and then
    written in one transaction: it is in the graph whole or not at all, thirty small writes pay
    for one commit, and the store's write lock is held only while the statements run. With
    ``defer_to`` the prepared batch is appended there for the caller to write with the job's end,
    in the same transaction, so no earlier run of the job can have left a part of it behind and
    nothing is looked up.
    """
    batch = graph.batch()
    done = _recorded_circuits(graph, job_id) if job_id and defer_to is None else {}
    ids = _prepare(batch, job_id, device, task, specs, results, role_outputs, done)
    if defer_to is not None:
        defer_to.append(batch)
    else:
        graph.write(batch, what="recording a job in the graph")
    return ids


def _prepare(
    graph: GraphBatch,
    job_id: str | None,
    device: str,
    task: str | None,
    specs: Sequence[CircuitSpec],
    results: Sequence[SimulationResult],
    role_outputs: Sequence[Any],
    done: dict[str, int],
) -> dict[str, Any]:
    ids: dict[str, Any] = {"simulations": []}
    for spec, result in zip(specs, results, strict=True):
        sha = spec.sha256()
        if done.get(sha):
            done[sha] -= 1
            continue
        ids["simulations"].append(
            graph.record_simulation(spec, result, job_id=job_id, device=device)
        )
    if job_id is None:
        return ids
    if task:
        planner = next((o for o in role_outputs if getattr(o, "role", None) == "planner"), None)
        ids["task"] = graph.add_entity("task", {"text": task}, embedding=_embedding_of(planner))
        graph.relate(job_id, "used", ids["task"])
    seen: dict[str, int] = {}
    models: dict[str, str] = {}
    for output in role_outputs:
        role = str(getattr(output, "role", "agent"))
        stage = getattr(output, "stage", None)
        name = f"{role}:{stage}" if stage else role
        seen[name] = seen.get(name, 0) + 1
        run_id = f"{name}" + (f":{seen[name]}" if seen[name] > 1 else "") + f"@{job_id}"
        data = without_embeddings(jsonable(output))
        run = graph.add_activity(
            "agent_run",
            {"role": role, "device": getattr(output, "device", None), "job_id": job_id},
            id=run_id,
            label=name,
        )
        report = role == "synthesis"
        entity = graph.add_entity(
            "report" if report else "llm_data",
            {**data, "job_id": job_id},
            embedding=_embedding_of(output) if report else None,
        )
        who = {"model": getattr(output, "model", None), "device": getattr(output, "device", None)}
        key = f"{who['model']}@{who['device']}"
        if key not in models:
            models[key] = graph.add_agent("model", who)
        model = models[key]
        graph.relate(entity, "wasGeneratedBy", run)
        graph.relate(run, "wasAssociatedWith", model)
        graph.relate(run, "wasInformedBy", job_id)
        ids[name] = entity
    return ids


def _recorded_circuits(graph: GraphStore, job_id: str) -> dict[str, int]:
    """circuit sha256 -> how many simulations of it are already linked to the job."""
    counts: dict[str, int] = {}
    try:
        edges = graph.edges_of(job_id)
    except NodeNotFoundError:
        return counts
    for edge in edges:
        if edge.relation == "wasInformedBy" and edge.dst == job_id:
            node = graph.get_node(edge.src)
            if node.kind == "simulation":
                sha = str(node.data.get("circuit_sha256"))
                counts[sha] = counts.get(sha, 0) + 1
    return counts


def _embedding_of(output: Any) -> list[float] | None:
    vector = getattr(output, "embedding", None)
    return [float(v) for v in vector] if vector is not None and len(vector) else None


def without_embeddings(data: Any) -> Any:
    """``data`` with every ``embedding`` key removed (stored once, on the node, not in its data)."""
    if isinstance(data, dict):
        return {k: without_embeddings(v) for k, v in data.items() if k != "embedding"}
    if isinstance(data, list):
        return [without_embeddings(v) for v in data]
    return data
