"""What a caller may ask, declared once: the request bodies of the REST gateway and the parameter
types of the MCP tools, with their limits and descriptions, so both accept the same things."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from dunes.constants import DEVICE_FORMS, MethodName, Precision
from dunes.quantum.parse import CircuitFormat

#: Largest seed Aer accepts (a signed 64-bit integer).
MAX_SEED = 2**63 - 1

CircuitText = Annotated[
    str,
    Field(
        min_length=1,
        description="Seed notation ('h(0); cx(0,1)'), OpenQASM 2/3, or a JSON gate list.",
        examples=["h(0); cx(0,1); cx(1,2)"],
    ),
]
ParametricCircuit = Annotated[
    str | list[dict[str, Any]],
    Field(
        description="A circuit with named parameters: 'ry(theta, 0); rz(2*theta + phi, 1)', "
        "OpenQASM 3 with 'input float[64] theta;', or JSON gates.",
        examples=["ry(theta, 0); cx(0, 1)"],
    ),
]
Shots = Annotated[
    int | None,
    Field(ge=0, description="Samples to draw; 0: the state only (default: quantum.default_shots)."),
]
Seed = Annotated[
    int | None, Field(ge=0, le=MAX_SEED, description="Seed for reproducible sampling.")
]
Device = Annotated[
    str | None,
    Field(max_length=32, description=f"{DEVICE_FORMS} (default: quantum.default_device)."),
]
NumQubits = Annotated[int | None, Field(ge=1, description="Qubits (default: inferred).")]
Observables = Annotated[
    list[str],
    Field(max_length=64, description="Pauli strings: 'ZZII' (qubit 0 rightmost) or 'Z0 Z3'."),
]
TaskText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=10_000,
        description="The task in plain words, e.g. 'a 3-qubit GHZ state, 1000 shots'.",
        examples=["Design a 4-qubit GHZ state"],
    ),
]
AgentText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=10_000,
        description="A task in plain words, or a circuit.",
        examples=["Design a 4-qubit GHZ state"],
    ),
]
JobId = Annotated[
    str, Field(min_length=1, max_length=128, description="The job id or a unique prefix of it.")
]
NodeId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        description="A graph node id or a unique prefix (as in git): a job id, circuit sha256, ...",
    ),
]
SearchText = Annotated[
    str, Field(min_length=1, max_length=10_000, description="What to look for, in words.")
]
TopK = Annotated[int, Field(ge=1, le=100, description="Nodes to return.")]
Depth = Annotated[int, Field(ge=0, le=100, description="Hops to follow.")]
KindFilter = Annotated[
    str | None,
    Field(max_length=64, description="Only nodes of this kind (task, report, quantum_state, ...)."),
]
Grid = Annotated[
    list[str] | None,
    Field(max_length=8, description="'name=START:STOP:COUNT' or 'name=v1,v2'; a grid."),
]
Bindings = Annotated[
    dict[str, list[float]] | None,
    Field(description="Parameter -> values, one value per binding (all of one length)."),
]
Document = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1_000_000,
        description="The whole .maml.md text (front matter, Markdown, fenced blocks).",
    ),
]
ExampleName = Annotated[
    str | None,
    Field(max_length=200, description="A shipped example instead of a document (dunes://maml/)."),
]
BlockName = Annotated[str | None, Field(description="Run only this named block.")]
Params = Annotated[dict[str, str], Field(description="Values for the document's parameters.")]
DryRun = Annotated[bool, Field(description="Check everything and list the blocks; run nothing.")]


class CircuitIn(BaseModel):
    """Circuit text in any accepted notation."""

    model_config = ConfigDict(extra="forbid")

    circuit: str = Field(max_length=200_000, examples=["h(0); cx(0,1)"])


class SimulateRequest(BaseModel):
    """A circuit and how to simulate it; limits come from the server's settings."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"circuit": "h(0); cx(0,1); cx(1,2)", "shots": 0},
                {"circuit": "h(0); cx(0,1); measure", "shots": 1000, "seed": 7},
            ]
        },
    )

    circuit: str | list[dict[str, Any]] = Field(
        description="Seed notation ('h(0); cx(0,1)'), OpenQASM 2/3, or a JSON gate list.",
        examples=["h(0); cx(0,1); cx(1,2)"],
    )
    shots: Shots = None
    num_qubits: NumQubits = None
    format: CircuitFormat = "auto"
    method: MethodName = "auto"
    device: Device = None
    precision: Precision = "double"
    seed: Seed = None
    statevector: bool | None = Field(None, description="Return the state; default: when shots=0.")
    observables: Observables = Field(default_factory=list)


class SweepRequest(BaseModel):
    """A circuit with named parameters and their values (explicit, or a grid)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "circuit": "ry(theta, 0); cx(0, 1)",
                    "grid": ["theta=0:2*pi:21"],
                    "observables": ["ZZ", "Z0"],
                }
            ]
        },
    )

    circuit: ParametricCircuit
    bindings: Bindings = None
    grid: Grid = None
    observables: Observables = Field(default_factory=list)
    probabilities: bool = False
    shots: int = Field(0, ge=0, le=100_000, description="Counts per binding.")
    seed: Seed = None


EXAMPLE_DOCUMENT = """\
---
schema_version: 1.0
id: urn:dunes:example:bell
context: Bell_Pair
permissions: { execute: true, write: false }
---
# Bell pair

```circuit {name=bell}
h(0); cx(0,1)
```
"""


class MamlDocumentIn(BaseModel):
    """A MAML document as text."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"document": EXAMPLE_DOCUMENT}]}
    )

    document: Document


class MamlRunIn(MamlDocumentIn):
    """A document to run and how."""

    block: BlockName = None
    params: Params = Field(default_factory=dict)
    dry_run: DryRun = False


class AgentInput(BaseModel):
    """The text a role works on: a task in plain words, or a circuit."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"text": "Design a 4-qubit GHZ state"}]}
    )

    text: AgentText
    embedding: bool = Field(False, description="Keep the output's embedding vector.")


class SeedTask(BaseModel):
    """The seed's request body."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"task": "Design a 4-qubit GHZ state"}]}
    )

    task: TaskText
