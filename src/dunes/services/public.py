"""The public model family: what every interface serialises, decided here once.

Results leave dunes without embeddings (unless asked for), without server paths (artifacts become
the download reference ``/v1/artifacts/<sha256>`` for callers over a network), and without a
MAML run's working directory. The CLI, REST and MCP print exactly these objects.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dunes.beluga import Node
from dunes.beluga.record import without_embeddings
from dunes.orchestration import Job, JobResult
from dunes.orchestration.jobs import RoleSummary
from dunes.quantum import SimulationResult
from dunes.quantum.result import top_amplitudes

#: Where a request came from: this machine's user, or a network interface (REST, MCP over HTTP).
Origin = Literal["local", "network"]
#: The REST download path of an artifact, the reference network callers get.
ARTIFACT_URL = "/v1/artifacts/{sha256}"


def public_simulation(
    result: SimulationResult, *, origin: Origin, top: int | None = None
) -> SimulationResult:
    """The result as a caller sees it: over a network the artifact is its download path; with
    ``top``, compact (see ``compact_simulation``)."""
    if top is not None:
        result = compact_simulation(result, top=top)
    if result.artifact is None or origin == "local":
        return result
    url = ARTIFACT_URL.format(sha256=result.artifact.sha256)
    public = result.model_copy(
        update={"artifact": result.artifact.model_copy(update={"path": url})}
    )
    public._state = result._state
    return public


#: Amplitudes below this probability are left out of a compact result.
NEGLIGIBLE = 1e-12


def compact_simulation(result: SimulationResult, *, top: int) -> SimulationResult:
    """The result with at most ``top`` amplitudes and outcomes, largest first: what an
    assistant reads (a whole 16-qubit state is 65,536 pairs). Flags say what was cut."""
    update: dict[str, Any] = {}
    if result.statevector is not None and len(result.statevector) > top:
        state = result.state
        assert state is not None
        kept = top_amplitudes(state, result.num_qubits, top)
        update |= {
            "statevector": None,
            "statevector_truncated": True,
            "top_amplitudes": [a for a in kept if a.probability > NEGLIGIBLE],
        }
    elif result.top_amplitudes is not None and len(result.top_amplitudes) > top:
        update["top_amplitudes"] = result.top_amplitudes[:top]
    if result.probabilities and len(result.probabilities) > top:
        ranked = sorted(result.probabilities.items(), key=lambda kv: (-kv[1], kv[0]))
        update |= {"probabilities": dict(ranked[:top]), "probabilities_truncated": True}
    if not update:
        return result
    compact = result.model_copy(update=update)
    compact._state = result._state
    return compact


def public_job_result(result: JobResult, *, origin: Origin, top: int | None = None) -> JobResult:
    """A job's result without embeddings, a MAML working directory, or server paths."""
    update: dict[str, Any] = {
        "llm_outputs": {
            role: summary.model_copy(update={"result": without_embeddings(summary.result)})
            for role, summary in result.llm_outputs.items()
        },
        "plan": without_embeddings(result.plan),
        "extraction": without_embeddings(result.extraction),
        "validations": without_embeddings(result.validations),
        "report": without_embeddings(result.report),
    }
    if result.maml is not None:
        update["maml"] = {k: v for k, v in result.maml.items() if k != "workdir"}
    if result.simulation is not None:
        update["simulation"] = public_simulation(result.simulation, origin=origin, top=top)
    if result.results:
        update["results"] = [public_simulation(r, origin=origin, top=top) for r in result.results]
    if top is not None and result.statevector is not None and len(result.statevector) > top:
        update["statevector"] = None  # the simulation holds its top amplitudes
    return result.model_copy(update=update)


def public_node(node: Node, *, embedding: bool = False) -> Node:
    """A graph node, its embedding kept only when asked for."""
    return (
        node if embedding or node.embedding is None else node.model_copy(update={"embedding": None})
    )


class SearchHit(BaseModel):
    """A node found by similarity, with its cosine similarity to the query."""

    model_config = ConfigDict(frozen=True)

    node: Node
    score: float


class SearchResult(BaseModel):
    """The answer to a graph search: hits best first, and what was searched."""

    model_config = ConfigDict(frozen=True)

    query: str
    kind: str | None = None
    model: str | None = Field(None, description="The encoder that embedded the query text.")
    hits: list[SearchHit]


class JobPage(BaseModel):
    """A page of jobs, newest first."""

    model_config = ConfigDict(frozen=True)

    jobs: list[Job]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last.")


class SeedResult(BaseModel):
    """The seed's response (circuit, statevector, llm_outputs) plus the job it ran as."""

    job_id: str
    status: str = Field(examples=["succeeded"])
    circuit: str | None = Field(None, examples=["h(0); cx(0,1); cx(1,2); cx(2,3)"])
    statevector: list[tuple[float, float]] | None = Field(
        None, description="Amplitudes as [re, im]; null above quantum.statevector_json_max_qubits."
    )
    counts: dict[str, int] | None = None
    llm_outputs: dict[str, RoleSummary] = Field(
        description="Per role (planner, extraction, validation, synthesis): device, model, result."
    )
    report: dict[str, Any] | None = None
    device: str | None = None

    @classmethod
    def of(cls, result: JobResult) -> SeedResult:
        """The seed's view of a job's result."""
        return cls.model_validate(result.model_dump(include=set(cls.model_fields)))
