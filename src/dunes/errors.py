"""Every error dunes raises on purpose.

One root, a small tree; interfaces convert a ``DunesError`` exactly once (REST: problem details,
MCP: tool or resource error, CLI: exit code and one line on stderr). Each class says what it is
once, for all of them: a stable ``code`` and a ``title`` for machines and people, and its
``kind`` (bad input, not found, refused, unavailable, ...), from which REST takes its status and
MCP its error class::

    DunesError
    ├── ConfigError
    ├── MissingDependencyError
    ├── CircuitError
    │   ├── CircuitSyntaxError
    │   └── CircuitValidationError
    ├── DeviceError
    │   └── InsufficientMemoryError
    ├── SimulationError
    ├── AgentError
    │   ├── AgentInputError
    │   └── ModelNotFoundError
    ├── JobError
    │   ├── JobNotFoundError
    │   ├── JobFailedError
    │   ├── JobCancelledError
    │   └── BrokerUnavailableError
    ├── MamlError
    │   ├── MamlSyntaxError
    │   ├── MamlValidationError
    │   ├── MamlPermissionError
    │   ├── MamlSignatureError
    │   └── MamlExampleNotFoundError
    ├── StoreError
    │   ├── NodeNotFoundError
    │   └── ArtifactError
    ├── InvalidInputError
    ├── LimitExceededError
    │   └── RateLimitedError
    ├── AuthenticationError
    ├── MisdirectedRequestError
    └── ForeignOriginError
"""

from __future__ import annotations

from typing import ClassVar, Literal

#: Whose fault an error is and what may help; REST takes its status from it (422, 404, 409,
#: 403, 401, 421, 413, 429, 503, 500), MCP whether a resource was not found.
ErrorKind = Literal[
    "invalid",
    "not_found",
    "conflict",
    "forbidden",
    "unauthorized",
    "misdirected",
    "too_large",
    "rate_limited",
    "unavailable",
    "failed",
]


class DunesError(Exception):
    """Root of every error dunes raises on purpose.

    ``field`` names the input that was wrong when there is one, so interfaces can point at it.
    """

    code: ClassVar[str] = "error"
    title: ClassVar[str] = "Error"
    kind: ClassVar[ErrorKind] = "failed"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class ConfigError(DunesError):
    """Settings could not be read or are inconsistent."""

    code = "config"
    title = "Server misconfigured"
    kind = "failed"


class MissingDependencyError(DunesError):
    """An optional package is not installed; the message names the extra to install."""

    code = "missing-dependency"
    title = "Optional dependency missing"
    kind = "unavailable"


class CircuitError(DunesError):
    """A circuit could not be understood or is not runnable."""

    code = "circuit-validation"
    title = "Invalid circuit"
    kind = "invalid"


class CircuitSyntaxError(CircuitError):
    """A circuit text does not parse; the message carries line and column."""

    code = "circuit-syntax"
    title = "Circuit does not parse"

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(f"{where}{message}", field="circuit")
        self.detail = message
        self.line = line
        self.column = column


class CircuitValidationError(CircuitError):
    """A circuit parses but breaks a rule (unknown gate, arity, qubit range, empty)."""


class DeviceError(DunesError):
    """A device was asked for that is not there or not usable."""

    code = "device"
    title = "Device not usable"
    kind = "invalid"


class InsufficientMemoryError(DeviceError):
    """The work does not fit the memory of the chosen device."""

    code = "insufficient-memory"
    title = "State does not fit memory"


class SimulationError(DunesError):
    """The simulator failed on a circuit that passed validation."""

    code = "simulation"
    title = "Simulation failed"
    kind = "failed"


class AgentError(DunesError):
    """An agent could not do its work."""

    code = "agent"
    title = "Agent failed"
    kind = "failed"


class AgentInputError(AgentError):
    """The agents cannot work on this input (say, no circuit family fits the task)."""

    code = "agent-input"
    title = "Agent cannot work on this input"
    kind = "invalid"


class ModelNotFoundError(AgentError):
    """A role's model is missing from the path it names."""

    code = "model-not-found"
    title = "Model not available"
    kind = "unavailable"


class JobError(DunesError):
    """A job could not be submitted, found or completed; ``job_id`` names it when there is one."""

    code = "job"
    title = "Job error"
    kind = "conflict"

    def __init__(
        self, message: str, *, field: str | None = None, job_id: str | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.job_id = job_id


class JobNotFoundError(JobError):
    """No job has the given id."""

    code = "job-not-found"
    title = "Job not found"
    kind = "not_found"


class JobFailedError(JobError):
    """A job ended failed; the message says at which step and why."""

    code = "job-failed"
    title = "Job failed"
    kind = "invalid"


class JobCancelledError(JobError):
    """The job was cancelled before it finished."""

    code = "job-cancelled"
    title = "Job cancelled"


class BrokerUnavailableError(JobError):
    """The message broker (Redis) cannot be reached."""

    code = "broker-unavailable"
    title = "Broker unavailable"
    kind = "unavailable"


class MamlError(DunesError):
    """A MAML document is malformed, invalid, forbidden or untrusted."""

    code = "maml"
    title = "MAML error"
    kind = "invalid"


class MamlSyntaxError(MamlError):
    """A MAML document does not parse."""

    code = "maml-syntax"
    title = "MAML document does not parse"


class MamlValidationError(MamlError):
    """A MAML document parses but breaks the schema."""

    code = "maml-validation"
    title = "Invalid MAML document"


class MamlPermissionError(MamlError):
    """The document's permissions or the local policy forbid the action."""

    code = "maml-permission"
    title = "MAML action not permitted"
    kind = "forbidden"


class MamlSignatureError(MamlError):
    """A signature is missing, malformed or does not verify."""

    code = "maml-signature"
    title = "MAML signature not trusted"
    kind = "forbidden"


class MamlExampleNotFoundError(MamlError):
    """No shipped example has the given name."""

    code = "maml-example-not-found"
    title = "MAML example not found"
    kind = "not_found"


class StoreError(DunesError):
    """The BELUGA graph store failed."""

    code = "store"
    title = "Store unavailable"
    kind = "unavailable"


class NodeNotFoundError(StoreError):
    """No graph node has the given id."""

    code = "node-not-found"
    title = "Graph node not found"
    kind = "not_found"


class ArtifactError(StoreError):
    """An artifact file is missing or its content does not match its sha256."""

    code = "artifact"
    title = "Artifact not available"
    kind = "not_found"


class InvalidInputError(DunesError):
    """A request field has the wrong type or value; the message names what is accepted."""

    code = "invalid-input"
    title = "Invalid input"
    kind = "invalid"


class LimitExceededError(DunesError):
    """A request exceeds a configured limit (qubits, shots, body size, rate)."""

    code = "limit-exceeded"
    title = "Limit exceeded"
    kind = "too_large"


class AuthenticationError(DunesError):
    """A request lacks a valid API key."""

    code = "unauthorized"
    title = "Missing or invalid API key"
    kind = "unauthorized"


class RateLimitedError(LimitExceededError):
    """A key (or client) sent more requests than ``api.rate_limit_per_minute`` allows."""

    code = "rate-limited"
    title = "Too many requests"
    kind = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message, field="api.rate_limit_per_minute")
        self.retry_after_s = retry_after_s


class MisdirectedRequestError(DunesError):
    """A request names a Host this server does not answer to (a DNS-rebinding page's, say)."""

    code = "misdirected-request"
    title = "Host not served here"
    kind = "misdirected"


class ForeignOriginError(DunesError):
    """A web page from another origin sent a state-changing request."""

    code = "foreign-origin"
    title = "Cross-origin request refused"
    kind = "forbidden"
