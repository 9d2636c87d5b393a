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

from dunes.beluga.record import record_job, without_embeddings
from dunes.beluga.store import jsonable
from dunes.config import Settings
from dunes.devices import Inventory
from dunes.errors import (
    AgentInputError,
    CircuitError,
    CircuitValidationError,
    DunesError,
)
from dunes.orchestration.jobs import CircuitInput, JobRequest, JobResult, RoleSummary
from dunes.quantum import CircuitSpec, SimulationOptions, SimulationResult, parse_circuit
from dunes.quantum.simulator import simulate_many

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


def role_output(output: Any) -> RoleSummary:
    """The public view of a role's output: device, model and the result without its vector."""
    data = jsonable(output)
    if hasattr(output, "public"):
        data = output.public()
    return RoleSummary(
        device=getattr(output, "device", None),
        model=getattr(output, "model", None),
        result=without_embeddings(data),
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
        AgentInputError: the planner found no circuit for the task; says why and what is known.
    """
    if planned.circuit is not None:
        return planned.circuit
    if planned.family:
        from dunes.quantum.families import build

        params: dict[str, Any] = dict(planned.params)
        if extraction is not None and extraction.num_qubits and "num_qubits" not in params:
            params["num_qubits"] = extraction.num_qubits
        return build(planned.family, params)
    raise AgentInputError(
        f"the planner found no circuit for the task: {planned.reason}", field="task"
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
            lambda: record_job(
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
        ids = record_job(
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
