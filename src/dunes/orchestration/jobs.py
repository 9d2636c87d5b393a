"""Job models: what is asked (``JobRequest``), where it stands (``Job``), what came out
(``JobResult``) and how it got there (``JobEvent``).

The records themselves live in the BELUGA store; these models are the one typed view of them that
every interface (CLI, REST, MCP) shares.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dunes.constants import TERMINAL_STATUSES, JobStatus, MethodName
from dunes.errors import InvalidInputError, JobError
from dunes.quantum.result import SimulationResult

JobKind = Literal["task", "circuit", "batch", "maml", "chunk"]
CircuitInput = str | list[Any] | dict[str, Any]

#: Most circuits one request may carry (batch or sweep); more belongs in several requests.
MAX_BATCH = 10_000


class JobRequest(BaseModel):
    """One unit of work: exactly one of ``task``, ``circuit``, ``circuits`` or ``maml``.

    ``sweep`` turns ``circuit`` into a parameter sweep: every ``{name}`` in the circuit text is
    replaced by each value in turn (``{"theta": [0, 0.5, 1.0]}`` gives three circuits).
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"task": "Design a 4-qubit GHZ state"},
                {"circuit": "h(0); cx(0,1); measure", "shots": 1000, "seed": 7},
                {"circuits": ["h(0)", "x(0); h(1)"]},
            ]
        },
    )

    task: str | None = Field(None, description="A task in plain words for the agents.")
    circuit: CircuitInput | None = Field(None, description="One circuit in any accepted notation.")
    circuits: list[CircuitInput] | None = Field(None, description="A batch, gathered in order.")
    maml: str | None = Field(None, description="A MAML document (text or path).")
    sweep: dict[str, list[float]] | None = Field(
        None, description="Parameter -> values, substituted for {parameter} in ``circuit``."
    )
    shots: int = Field(0, ge=0, description="0: statevector only.")
    seed: int | None = Field(None, ge=0)
    method: MethodName = "auto"
    num_qubits: int | None = Field(None, ge=1)
    device: str | None = Field(
        None, description="Pin the job to 'cpu' or 'cuda:N'; default: the placement decides."
    )
    origin: Literal["local", "network"] = Field(
        "local",
        description="Where the request came from; a MAML document from the network runs code "
        "only when signed by a trusted key (set by the server, not the client).",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> JobRequest:
        if self.circuits is not None and not self.circuits:
            raise ValueError("circuits is empty; give at least one circuit (or use circuit)")
        given = [
            name
            for name in ("task", "circuit", "circuits", "maml")
            if getattr(self, name) not in (None, "", [])
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of task, circuit, circuits or maml"
                + (f" (got {', '.join(given)})" if given else " (got none)")
            )
        if self.sweep is not None:
            if self.circuit is None or not isinstance(self.circuit, str):
                raise ValueError("sweep needs circuit as text with {name} placeholders")
            lengths = {len(v) for v in self.sweep.values()}
            if len(lengths) != 1 or 0 in lengths:
                raise ValueError("sweep values must be non-empty lists of one common length")
        if self.circuits is not None and len(self.circuits) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} circuits per request")
        return self

    @property
    def kind(self) -> JobKind:
        if self.task:
            return "task"
        if self.maml:
            return "maml"
        if self.circuits is not None or self.sweep is not None:
            return "batch"
        return "circuit"

    def batch_circuits(self) -> list[CircuitInput]:
        """The circuits of a batch or sweep, in order."""
        if self.circuits is not None:
            return list(self.circuits)
        if self.sweep is not None and isinstance(self.circuit, str):
            names = list(self.sweep)
            count = len(self.sweep[names[0]])
            out: list[CircuitInput] = []
            for i in range(count):
                text = self.circuit
                for name in names:
                    text = text.replace("{" + name + "}", repr(float(self.sweep[name][i])))
                if "{" in text:
                    raise InvalidInputError(
                        f"sweep left a placeholder unfilled in {text!r}; "
                        f"parameters given: {', '.join(names)}",
                        field="sweep",
                    )
                out.append(text)
            return out
        return [self.circuit] if self.circuit is not None else []


class Job(BaseModel):
    """Where a job stands; read from the store."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    kind: str
    status: JobStatus
    progress: float = 0.0
    step: str | None = None
    error: str | None = None
    device: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    input: dict[str, Any] = Field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def still_waiting(self, waited_s: float, why: str | None = None) -> JobError:
        """The error for this job not done after ``waited_s``: where it stands (queued: ``why``
        no worker takes it) and how to follow or cancel it; the job goes on."""
        where = f" at step '{self.step}'" if self.step else ""
        if self.status == "queued":
            where = f" ({why or 'no worker has taken it yet'})"
        short = self.job_id[:12]
        return JobError(
            f"job {self.job_id} is still {self.status}{where} after {waited_s:.0f} s; it goes "
            f"on: follow it with `dunes jobs wait {short} --timeout SECONDS` or cancel it with "
            f"`dunes jobs cancel {short}`",
            job_id=self.job_id,
        )


class RoleSummary(BaseModel):
    """What one agent role produced, and where it ran."""

    model_config = ConfigDict(frozen=True)

    device: str | None = None
    model: str | None = None
    result: Any = None

    def verdict(self, role: str) -> str:
        """What the role decided, in a few words (for a table of the agents)."""
        found = self.result if isinstance(self.result, dict) else {}
        if role == "planner":
            if not found.get("family"):
                return "(given circuit)" if found else ""
            return f"{found['family']} ({float(found.get('confidence') or 0):.2f})"
        if role == "extraction":
            keys = ("num_qubits", "shots", "marked")
            return ", ".join(f"{k}={found[k]}" for k in keys if found.get(k))
        if role == "validation":
            stages = [(stage, found.get(stage) or {}) for stage in ("circuit", "result")]
            return "; ".join(f"{s}: {d.get('verdict', '')}" for s, d in stages if d)
        return str(found.get("verdict", "")) if role == "synthesis" else ""


class JobResult(BaseModel):
    """What a job produced; one JSON encoding for CLI, REST and MCP."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    status: JobStatus
    kind: str = "task"
    error: str | None = None
    device: str | None = None
    circuit: str | None = Field(None, description="The circuit in seed notation.")
    statevector: list[tuple[float, float]] | None = None
    counts: dict[str, int] | None = None
    llm_outputs: dict[str, RoleSummary] = Field(default_factory=dict)
    plan: dict[str, Any] | None = None
    extraction: dict[str, Any] | None = None
    validations: dict[str, Any] = Field(default_factory=dict)
    report: dict[str, Any] | None = None
    simulation: SimulationResult | None = None
    results: list[SimulationResult] | None = Field(None, description="A batch, in order.")
    maml: dict[str, Any] | None = None
    graph: dict[str, Any] = Field(default_factory=dict, description="Ids written to the graph.")
    timings: dict[str, float] = Field(default_factory=dict)


class JobEvent(BaseModel):
    """One step of progress, numbered per job from 1."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    seq: int
    step: str
    progress: float
    message: str = ""
    status: JobStatus | None = None
    at: datetime | None = None
