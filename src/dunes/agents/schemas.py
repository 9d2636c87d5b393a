"""Typed outputs of the four roles; each has one JSON encoding (``model_dump_json``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dunes.constants import Role
from dunes.quantum.circuit import CircuitSpec

ParamValue = int | float | str | list[float] | None


class AgentOutput(BaseModel):
    """What every role output carries, for the provenance graph."""

    model_config = ConfigDict(frozen=True)

    role: Role
    device: str = Field(description="'cpu' or 'cuda:N' where the role's model ran.")
    model: str = Field(description="Model name (directory name, or all-MiniLM-L6-v2).")
    embedding: list[float] = Field(description="Unit-length embedding of the role's text.")


class Extraction(AgentOutput):
    """Parameters found in a task text, what was not found, and the defaults that apply."""

    role: Role = "extraction"
    num_qubits: int | None = None
    shots: int | None = None
    marked: str | None = Field(None, description="Bitstring to search for (qubit 0 rightmost).")
    angles: list[float] = Field(default_factory=list, description="Radians, in text order.")
    secret: str | None = Field(None, description="Hidden bitstring (qubit 0 rightmost).")
    basis: str | None = Field(None, description="Input basis state, e.g. for a QFT.")
    bitstrings: list[str] = Field(default_factory=list, description="Every bitstring seen.")
    depth: int | None = None
    seed: int | None = None
    oracle: Literal["balanced", "constant"] | None = None
    variant: str | None = Field(None, description="Bell state variant, e.g. 'phi-'.")
    missing: list[str] = Field(default_factory=list, description="Fields not found in the text.")
    defaults_used: dict[str, ParamValue] = Field(default_factory=dict)


class FamilyScore(BaseModel):
    """How strongly the planner matched one family."""

    model_config = ConfigDict(frozen=True)

    family: str
    score: float
    similarity: float
    keyword: float
    evidence: list[str] = Field(default_factory=list)


class PlanResult(AgentOutput):
    """The planner's decision: a family and its circuit, a given circuit, or a refusal."""

    role: Role = "planner"
    task: str
    source: Literal["catalog", "given", "none"] = Field(
        description="catalog: built from a family; given: the task contained a circuit; "
        "none: refused."
    )
    family: str | None
    confidence: float
    runner_up: str | None = None
    runner_up_confidence: float | None = None
    reason: str
    num_qubits: int | None = None
    params: dict[str, ParamValue] = Field(default_factory=dict)
    defaults_used: dict[str, ParamValue] = Field(default_factory=dict)
    shots: int = 0
    circuit: CircuitSpec | None = None
    circuit_seed: str | None = Field(None, description="The circuit in seed notation.")
    scores: list[FamilyScore] = Field(default_factory=list)
    extraction: Extraction | None = None

    @property
    def ok(self) -> bool:
        """True when there is a circuit to run."""
        return self.circuit is not None

    def public(self) -> dict[str, Any]:
        """The CLI/REST view: ``circuit`` in seed notation, the spec under ``circuit_spec``."""
        data = self.model_dump(mode="json", exclude={"circuit", "circuit_seed"})
        data["circuit"] = self.circuit_seed
        data["circuit_spec"] = (
            self.circuit.model_dump(mode="json") if self.circuit is not None else None
        )
        return data


class ValidationCheck(BaseModel):
    """One validation check."""

    model_config = ConfigDict(frozen=True)

    name: str
    ok: bool | None = Field(description="None: could not be checked (said why in detail).")
    detail: str
    value: float | None = None


class ValidationVerdict(AgentOutput):
    """Checks before running (qubits, depth, memory) or after (norm, fidelity)."""

    role: Role = "validation"
    stage: Literal["circuit", "result"]
    target_device: str | None = Field(None, description="The device the circuit was checked for.")
    checks: list[ValidationCheck]
    passed: bool = Field(description="No check failed.")
    verdict: str

    def check(self, name: str) -> ValidationCheck | None:
        return next((c for c in self.checks if c.name == name), None)


class Outcome(BaseModel):
    """One measured or computed outcome and its probability."""

    model_config = ConfigDict(frozen=True)

    bitstring: str
    probability: float


class Report(AgentOutput):
    """The synthesis: what was built, what came out, and whether it checks out."""

    role: Role = "synthesis"
    text: str
    family: str | None
    num_qubits: int
    gate_count: int
    depth: int
    top_outcomes: list[Outcome]
    entropy_bits: float | None
    verdict: Literal["pass", "fail", "unchecked"]
