"""Structured outputs of the MCP tools (their JSON schemas are the tools' output schemas)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from dunes.agents import PlanResult
from dunes.beluga import Lineage, Node
from dunes.devices import Inventory
from dunes.orchestration import Job, JobResult
from dunes.quantum.backend import AerInfo
from dunes.quantum.result import SimulationResult, top_amplitudes

#: Amplitudes with a smaller probability are left out of the output.
NEGLIGIBLE = 1e-12


class AmplitudeOut(BaseModel):
    """One basis state; ``bitstring`` puts qubit 0 rightmost, as Qiskit does."""

    bitstring: str
    real: float
    imag: float
    probability: float


class SimulationOut(BaseModel):
    """What ``simulate_circuit`` returns: outcomes, the largest amplitudes, and how it ran."""

    num_qubits: int
    circuit: str = Field(description="The circuit in seed notation.")
    circuit_sha256: str
    device: str = Field(description="'cpu' or 'cuda:N'.")
    method: str
    backend: str
    shots: int
    seed: int | None = None
    counts: dict[str, int] | None = Field(None, description="Outcome -> count when sampled.")
    probabilities: dict[str, float] | None = Field(
        None, description="The most likely outcomes (up to `top`), when the state was computed."
    )
    top_amplitudes: list[AmplitudeOut] = Field(
        default_factory=list, description="The largest non-zero amplitudes, largest first."
    )
    expectation_values: dict[str, float] | None = None
    state_of: str | None = Field(
        None,
        description="Which state the amplitudes are: before_final_measurements, only_branch or "
        "sampled_branch.",
    )
    probabilities_of: str | None = Field(
        None, description="'qubits' (of that state) or 'clbits' (the classical bits at the end)."
    )
    exact: bool = Field(True, description="False when samples stand in for an exact answer.")
    entropy_bits: float | None = Field(None, description="Shannon entropy of the outcomes.")
    reasons: list[str] = Field(default_factory=list, description="Why dunes ran it this way.")
    elapsed_s: float = Field(description="Aer time in seconds.")

    @classmethod
    def from_result(cls, result: SimulationResult, *, top: int) -> SimulationOut:
        # Big states already carry their top amplitudes; never load an artifact here.
        state = (
            result.state
            if result.statevector is not None and not result.statevector_truncated
            else None
        )
        if state is not None:
            amplitudes = top_amplitudes(state, result.num_qubits, top)
        else:
            amplitudes = list(result.top_amplitudes or [])[:top]
        amplitudes = [a for a in amplitudes if a.probability > NEGLIGIBLE]
        probabilities = None
        if result.probabilities:
            ranked = sorted(result.probabilities.items(), key=lambda kv: (-kv[1], kv[0]))
            probabilities = dict(ranked[:top])
        return cls(
            num_qubits=result.num_qubits,
            circuit=result.circuit,
            circuit_sha256=result.circuit_sha256,
            device=result.device,
            method=result.method,
            backend=result.backend,
            shots=result.shots,
            seed=result.seed,
            counts=result.counts,
            probabilities=probabilities,
            top_amplitudes=[
                AmplitudeOut(
                    bitstring=a.bitstring,
                    real=a.amplitude[0],
                    imag=a.amplitude[1],
                    probability=a.probability,
                )
                for a in amplitudes
            ],
            expectation_values=result.expectation_values,
            state_of=result.state_of,
            probabilities_of=result.probabilities_of,
            exact=result.exact,
            entropy_bits=result.entropy_bits(),
            reasons=list(result.reasons),
            elapsed_s=result.timings.get("aer_s", 0.0),
        )


class DeviceOut(BaseModel):
    """One device dunes can use."""

    id: str = Field(description="'cpu' or 'cuda:N' (N is the visible index).")
    kind: str
    name: str
    memory_total: int = Field(description="Bytes.")
    memory_free: int = Field(description="Bytes.")
    utilization: float | None = Field(None, description="Busy share 0..1 where known.")


class AerOut(BaseModel):
    """The active Aer build."""

    distribution: str
    version: str
    devices: list[str]
    gpu_build: bool
    gpu_usable: bool


class GpusOut(BaseModel):
    """The devices this server sees and the Aer build it simulates with."""

    source: str = Field(description="How the devices were found: nvml, torch or cpu.")
    cuda_visible_devices: str | None
    devices: list[DeviceOut]
    aer: AerOut

    @classmethod
    def build(cls, inventory: Inventory, aer: AerInfo) -> GpusOut:
        return cls(
            source=inventory.source,
            cuda_visible_devices=inventory.cuda_visible_devices,
            devices=[
                DeviceOut.model_validate(d.model_dump(include=set(DeviceOut.model_fields)))
                for d in inventory.devices
            ],
            aer=AerOut(
                distribution=aer.distribution,
                version=aer.version,
                devices=list(aer.devices),
                gpu_build=aer.gpu_build,
                gpu_usable=aer.gpu_usable and bool(inventory.gpus),
            ),
        )


class JobOut(BaseModel):
    """Where a job stands."""

    job_id: str
    kind: str
    status: str = Field(description="queued, running, succeeded, failed or cancelled.")
    progress: float = Field(description="0..1.")
    step: str | None = None
    error: str | None = None
    device: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None

    @classmethod
    def from_job(cls, job: Job) -> JobOut:
        return cls.model_validate(job.model_dump(mode="json", exclude={"input"}))


class RoleRun(BaseModel):
    """Where an agent role ran."""

    device: str | None = None
    model: str | None = None


class JobResultOut(BaseModel):
    """A job and, once it is done, what it produced."""

    job: JobOut
    done: bool = Field(description="False: still running; poll get_job with this job_id.")
    circuit: str | None = Field(None, description="The circuit in seed notation.")
    report: dict[str, Any] | None = Field(None, description="The synthesis report of a task.")
    simulation: SimulationOut | None = None
    results: list[SimulationOut] | None = Field(None, description="A batch, in order.")
    maml: dict[str, Any] | None = None
    agents: dict[str, RoleRun] = Field(default_factory=dict, description="Role -> where it ran.")
    graph: dict[str, Any] = Field(default_factory=dict, description="Ids written to the graph.")

    @classmethod
    def build(cls, job: Job, result: JobResult | None, *, top: int = 16) -> JobResultOut:
        if result is None or not job.done:
            return cls(job=JobOut.from_job(job), done=job.done)
        return cls(
            job=JobOut.from_job(job),
            done=True,
            circuit=result.circuit,
            report=result.report,
            simulation=(
                SimulationOut.from_result(result.simulation, top=top)
                if result.simulation is not None
                else None
            ),
            results=(
                [SimulationOut.from_result(r, top=top) for r in result.results]
                if result.results is not None
                else None
            ),
            maml=result.maml,
            agents={
                role: RoleRun(device=out.device, model=out.model)
                for role, out in result.llm_outputs.items()
            },
            graph=result.graph,
        )


class JobListOut(BaseModel):
    """Jobs, newest first."""

    jobs: list[JobOut]


class SearchHit(BaseModel):
    """A job whose recorded agent outputs are close to the query."""

    job_id: str
    score: float = Field(description="Cosine similarity of the best matching node, -1..1.")
    node_id: str
    node_kind: str
    status: str | None = None
    task: str | None = None


class SearchOut(BaseModel):
    """Jobs ranked by graph similarity to a text."""

    query: str
    hits: list[SearchHit]


class NodeOut(BaseModel):
    """One node of the provenance graph (without its embedding)."""

    id: str
    category: str
    kind: str
    label: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: str

    @classmethod
    def from_node(cls, node: Node) -> NodeOut:
        return cls.model_validate(node.model_dump(mode="json", exclude={"embedding"}))


class EdgeOut(BaseModel):
    """``src relation dst``."""

    src: str
    relation: str
    dst: str


class LineageOut(BaseModel):
    """A node's neighbourhood: ancestors (upstream) and descendants (downstream) with hops."""

    root: str
    depth: int
    direction: str
    nodes: list[NodeOut]
    edges: list[EdgeOut]
    upstream: dict[str, int]
    downstream: dict[str, int]

    @classmethod
    def from_lineage(cls, lineage: Lineage) -> LineageOut:
        return cls(
            root=lineage.root,
            depth=lineage.depth,
            direction=lineage.direction,
            nodes=[NodeOut.from_node(n) for n in lineage.nodes],
            edges=[EdgeOut(src=e.src, relation=e.relation, dst=e.dst) for e in lineage.edges],
            upstream=lineage.upstream,
            downstream=lineage.downstream,
        )


def without_embedding(data: Any) -> Any:
    """``data`` with every ``embedding`` key removed (vectors are noise to a model)."""
    if isinstance(data, dict):
        return {k: without_embedding(v) for k, v in data.items() if k != "embedding"}
    if isinstance(data, list):
        return [without_embedding(v) for v in data]
    return data


class PlanOut(BaseModel):
    """The planner's choice of circuit for a task."""

    task: str
    family: str | None = Field(description="Circuit family, or None when none fits.")
    confidence: float
    runner_up: str | None = None
    runner_up_confidence: float | None = None
    reason: str
    num_qubits: int | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    defaults_used: dict[str, Any] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list, description="What the task did not say.")
    shots: int = 0
    circuit: str | None = Field(None, description="The circuit in seed notation.")
    device: str
    model: str

    @classmethod
    def from_plan(cls, plan: PlanResult) -> PlanOut:
        return cls(
            task=plan.task,
            family=plan.family,
            confidence=plan.confidence,
            runner_up=plan.runner_up,
            runner_up_confidence=plan.runner_up_confidence,
            reason=plan.reason,
            num_qubits=plan.num_qubits,
            params=dict(plan.params),
            defaults_used=dict(plan.defaults_used),
            missing=list(plan.extraction.missing) if plan.extraction else [],
            shots=plan.shots,
            circuit=plan.circuit_seed,
            device=plan.device,
            model=plan.model,
        )


class AgentOut(BaseModel):
    """What one agent role produced, and where it ran."""

    role: str
    device: str
    model: str
    output: dict[str, Any] = Field(description="The role's output (without its embedding).")
