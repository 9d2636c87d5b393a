"""The orchestrate pipeline as plain steps, each callable and testable on its own.

plan -> extract -> build circuit -> validate circuit -> simulate -> validate result -> synthesize
-> store. Steps take what they need and return typed outputs; ``run_task`` chains them and reports
progress through a ``StepContext``. Graph writes happen only in the last step, in one store
transaction, with ids derived from the job id where the store lets us choose them, so a job re-run
after a crash does not record itself twice.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from dunes.beluga.store import jsonable
from dunes.config import Settings
from dunes.devices import Inventory
from dunes.errors import (
    AgentError,
    CircuitError,
    CircuitValidationError,
    DunesError,
    NodeNotFoundError,
)
from dunes.orchestration.jobs import CircuitInput, JobRequest, JobResult, RoleSummary
from dunes.quantum import CircuitSpec, SimulationOptions, SimulationResult, parse_circuit
from dunes.quantum.simulate import simulate_many

if TYPE_CHECKING:
    from dunes.agents import AgentRuntime
    from dunes.agents.schemas import Extraction, PlanResult, Report, ValidationVerdict
    from dunes.beluga import GraphStore
    from dunes.beluga.batch import GraphBatch

log = logging.getLogger(__name__)

#: (step name, progress when the step is done), in order.
TASK_STEPS: tuple[tuple[str, float], ...] = (
    ("plan", 0.15),
    ("extract", 0.25),
    ("build_circuit", 0.3),
    ("validate_circuit", 0.4),
    ("simulate", 0.7),
    ("validate_result", 0.8),
    ("synthesize", 0.9),
    ("store", 1.0),
)

Reporter = Callable[[str, float, str], None]


def _silent(step: str, progress: float, message: str) -> None:
    return None


@dataclasses.dataclass
class StepContext:
    """What the steps of one job share: settings, the device they run on, and a reporter.

    ``report(step, progress, message)`` records progress and raises ``JobCancelledError`` when the
    job was cancelled meanwhile, so cancellation takes effect between steps. When
    ``graph_batches`` is a list, the store step only prepares the job's graph record into it: a
    worker writes it with the job's end, in one transaction.
    """

    settings: Settings
    device: str = "cpu"
    inventory: Inventory | None = None
    report: Reporter = _silent
    job_id: str | None = None
    graph_batches: list[GraphBatch] | None = None


def _without_embedding(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _without_embedding(v) for k, v in data.items() if k != "embedding"}
    return data


def role_output(output: Any) -> RoleSummary:
    """The public view of a role's output: device, model and the result without its vector."""
    data = jsonable(output)
    if hasattr(output, "public"):
        data = output.public()
    return RoleSummary(
        device=getattr(output, "device", None),
        model=getattr(output, "model", None),
        result=_without_embedding(data),
    )


# --- the steps -------------------------------------------------------------------------------


def plan(runtime: AgentRuntime, text: str) -> PlanResult:
    """Planner: which circuit family the task asks for, with its parameters."""
    return runtime.plan(text)


def extract(runtime: AgentRuntime, text: str) -> Extraction:
    """Extraction: qubits, shots, bitstrings and angles named in the task."""
    return runtime.extract(text)


def build_circuit(planned: PlanResult, extraction: Extraction | None = None) -> CircuitSpec:
    """The circuit the plan stands for.

    Raises:
        AgentError: the planner found no circuit for the task; says why and what is known.
    """
    if planned.circuit is not None:
        return planned.circuit
    if planned.family:
        from dunes.quantum.families import build

        params: dict[str, Any] = dict(planned.params)
        if extraction is not None and extraction.num_qubits and "num_qubits" not in params:
            params["num_qubits"] = extraction.num_qubits
        return build(planned.family, params)
    from dunes.quantum.families import names

    raise AgentError(
        f"the planner found no circuit for the task ({planned.reason}); "
        f"name one of: {', '.join(names())}, or give a circuit such as 'h(0); cx(0,1)'",
        field="task",
    )


def validate_circuit(
    runtime: AgentRuntime, spec: CircuitSpec, *, family: str | None, device: str | None
) -> ValidationVerdict:
    """Validation before running: qubits, depth and memory on the target device."""
    return runtime.validate_circuit(spec, family=family, device=device)


def simulation_options(
    request: JobRequest, *, device: str, statevector: bool | None = None
) -> SimulationOptions:
    """Simulator options for ``request`` on the worker's device (a pinned GPU shows as cuda:0)."""
    return SimulationOptions(
        shots=request.shots,
        seed=request.seed,
        method=request.method,
        device="cpu" if device == "cpu" else "auto",
        statevector=statevector,
    )


def simulate(
    ctx: StepContext, specs: Sequence[CircuitSpec], options: SimulationOptions
) -> list[SimulationResult]:
    """Run the circuits on this worker's device, results in order."""
    return simulate_many(
        list(specs),
        options,
        inventory=ctx.inventory,
        settings=ctx.settings.quantum,
        artifacts_dir=ctx.settings.artifacts_dir,
    )


def validate_result(
    runtime: AgentRuntime,
    spec: CircuitSpec,
    result: SimulationResult,
    *,
    family: str | None,
    params: dict[str, Any] | None,
) -> ValidationVerdict:
    """Validation after running: norm and fidelity to the ideal state where known."""
    return runtime.validate_result(spec, result, family=family, params=params)


def synthesize(
    runtime: AgentRuntime,
    planned: PlanResult,
    result: SimulationResult,
    validations: list[ValidationVerdict],
) -> Report:
    """Synthesis: the report a person reads."""
    return runtime.synthesize(plan=planned, result=result, validations=validations)


def store(
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

    Every role output becomes an ``agent_run`` activity (id ``<job>:<role>``) that generated an
    ``llm_data`` (or ``report``) entity. Simulations already linked to the job (a re-run after a
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
        ids["task"] = graph.add_entity("task", {"text": task})
        graph.relate(job_id, "used", ids["task"])
    seen: dict[str, int] = {}
    models: dict[str, str] = {}
    for output in role_outputs:
        role = str(getattr(output, "role", "agent"))
        stage = getattr(output, "stage", None)
        name = f"{role}:{stage}" if stage else role
        seen[name] = seen.get(name, 0) + 1
        run_id = f"{job_id}:{name}" + (f":{seen[name]}" if seen[name] > 1 else "")
        data = _without_embedding(jsonable(output))
        run = graph.add_activity(
            "agent_run",
            {"role": role, "device": getattr(output, "device", None), "job_id": job_id},
            id=run_id,
            label=name,
        )
        embedding = getattr(output, "embedding", None)
        entity = graph.add_entity(
            "report" if role == "synthesis" else "llm_data",
            {**data, "job_id": job_id},
            embedding=list(embedding) if embedding else None,
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


# --- chains ----------------------------------------------------------------------------------


def run_task(
    ctx: StepContext,
    runtime: AgentRuntime,
    graph: GraphStore | None,
    request: JobRequest,
) -> JobResult:
    """A task in plain words, through every step; each step reports its progress."""
    assert request.task is not None
    timings: dict[str, float] = {}
    text = request.task

    def timed(step: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        out = fn()
        timings[step] = time.perf_counter() - start
        done = dict(TASK_STEPS)[step]
        ctx.report(step, done, f"{step} done in {timings[step] * 1000:.0f} ms")
        return out

    ctx.report("plan", 0.05, "planning")
    planned = timed("plan", lambda: plan(runtime, text))
    extraction = planned.extraction or timed("extract", lambda: extract(runtime, text))
    if "extract" not in timings:
        ctx.report("extract", dict(TASK_STEPS)["extract"], "extraction came with the plan")
    spec = timed("build_circuit", lambda: build_circuit(planned, extraction))
    checked = timed(
        "validate_circuit",
        lambda: validate_circuit(runtime, spec, family=planned.family, device=ctx.device),
    )
    if not checked.passed:
        failed = "; ".join(c.detail for c in checked.checks if c.ok is False)
        raise CircuitValidationError(f"circuit rejected before running: {failed}")
    shots = request.shots or planned.shots or 0
    # The state is kept for the report and the fidelity check where it is printed whole; a
    # wider circuit gets what its method gives (a 500-qubit GHZ runs on the stabilizer).
    whole = spec.num_qubits <= ctx.settings.quantum.statevector_json_max_qubits
    options = simulation_options(
        request.model_copy(update={"shots": shots}),
        device=ctx.device,
        statevector=True if whole else None,
    )
    result = timed("simulate", lambda: simulate(ctx, [spec], options)[0])
    verified = timed(
        "validate_result",
        lambda: validate_result(
            runtime, spec, result, family=planned.family, params=dict(planned.params)
        ),
    )
    report = timed("synthesize", lambda: synthesize(runtime, planned, result, [checked, verified]))
    outputs = [planned, extraction, checked, verified, report]
    ids = (
        timed(
            "store",
            lambda: store(
                graph,
                job_id=ctx.job_id,
                device=result.device,
                task=text,
                specs=[spec],
                results=[result],
                role_outputs=outputs,
                defer_to=ctx.graph_batches,
            ),
        )
        if graph is not None
        else {}
    )
    validation = role_output(checked)
    validation = RoleSummary(
        device=validation.device,
        model=validation.model,
        result={"circuit": validation.result, "result": role_output(verified).result},
    )
    return JobResult(
        job_id=ctx.job_id or "",
        status="succeeded",
        kind="task",
        device=result.device,
        circuit=spec.to_seed(),
        statevector=result.statevector,
        counts=result.counts,
        llm_outputs={
            "planner": role_output(planned),
            "extraction": role_output(extraction),
            "validation": validation,
            "synthesis": role_output(report),
        },
        plan=role_output(planned).result,
        extraction=role_output(extraction).result,
        validations={
            "circuit": role_output(checked).result,
            "result": role_output(verified).result,
        },
        report=role_output(report).result,
        simulation=result,
        graph=ids,
        timings=timings,
    )


def parse_all(circuits: Sequence[CircuitInput], *, num_qubits: int | None) -> list[CircuitSpec]:
    """Parse every circuit, naming the index of the first bad one."""
    specs = []
    for index, circuit in enumerate(circuits):
        try:
            specs.append(parse_circuit(circuit, num_qubits=num_qubits))
        except DunesError as exc:
            if len(circuits) == 1:
                raise
            raise CircuitError(f"circuit {index}: {exc}", field=f"circuits.{index}") from exc
    return specs


def run_circuits(
    ctx: StepContext,
    graph: GraphStore | None,
    request: JobRequest,
    circuits: Sequence[CircuitInput],
    *,
    kind: str = "circuit",
) -> JobResult:
    """Circuits without agents: parse, simulate on this device, store."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    specs = parse_all(circuits, num_qubits=request.num_qubits)
    timings["build_circuit"] = time.perf_counter() - start
    ctx.report("build_circuit", 0.2, f"{len(specs)} circuit(s) parsed")
    start = time.perf_counter()
    results = simulate(ctx, specs, simulation_options(request, device=ctx.device))
    timings["simulate"] = time.perf_counter() - start
    ctx.report("simulate", 0.8, f"{len(results)} simulation(s) done")
    ids: dict[str, Any] = {}
    if graph is not None:
        start = time.perf_counter()
        ids = store(
            graph,
            job_id=ctx.job_id,
            device=results[0].device if results else ctx.device,
            task=None,
            specs=specs,
            results=results,
            defer_to=ctx.graph_batches,
        )
        timings["store"] = time.perf_counter() - start
        ctx.report(
            "store",
            1.0,
            "graph record ready (written with the job's end)"
            if ctx.graph_batches is not None
            else "recorded in the graph",
        )
    first = results[0] if len(results) == 1 and kind == "circuit" else None
    return JobResult(
        job_id=ctx.job_id or "",
        status="succeeded",
        kind=kind,
        device=results[0].device if results else ctx.device,
        circuit=first.circuit if first else None,
        statevector=first.statevector if first else None,
        counts=first.counts if first else None,
        simulation=first,
        results=None if first else list(results),
        graph=ids,
        timings=timings,
    )
