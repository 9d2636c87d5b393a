"""Every error dunes raises on purpose.

One root, a small tree; interfaces convert a ``DunesError`` exactly once (REST: problem details,
MCP: tool error, CLI: exit code and one line on stderr)::

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
    │   └── ModelNotFoundError
    ├── JobError
    │   ├── JobNotFoundError
    │   ├── JobCancelledError
    │   └── BrokerUnavailableError
    ├── MamlError
    │   ├── MamlSyntaxError
    │   ├── MamlValidationError
    │   ├── MamlPermissionError
    │   └── MamlSignatureError
    ├── StoreError
    │   ├── NodeNotFoundError
    │   └── ArtifactError
    ├── InvalidInputError
    └── LimitExceededError
"""

from __future__ import annotations


class DunesError(Exception):
    """Root of every error dunes raises on purpose.

    ``field`` names the input that was wrong when there is one, so interfaces can point at it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class ConfigError(DunesError):
    """Settings could not be read or are inconsistent."""


class MissingDependencyError(DunesError):
    """An optional package is not installed; the message names the extra to install."""


class CircuitError(DunesError):
    """A circuit could not be understood or is not runnable."""


class CircuitSyntaxError(CircuitError):
    """A circuit text does not parse; the message carries line and column."""

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


class InsufficientMemoryError(DeviceError):
    """The work does not fit the memory of the chosen device."""


class SimulationError(DunesError):
    """The simulator failed on a circuit that passed validation."""


class AgentError(DunesError):
    """An agent could not do its work."""


class ModelNotFoundError(AgentError):
    """A role's model is missing from the path it names."""


class JobError(DunesError):
    """A job could not be submitted, found or completed."""


class JobNotFoundError(JobError):
    """No job has the given id."""


class JobCancelledError(JobError):
    """The job was cancelled before it finished."""


class BrokerUnavailableError(JobError):
    """The message broker (Redis) cannot be reached."""


class MamlError(DunesError):
    """A MAML document is malformed, invalid, forbidden or untrusted."""


class MamlSyntaxError(MamlError):
    """A MAML document does not parse."""


class MamlValidationError(MamlError):
    """A MAML document parses but breaks the schema."""


class MamlPermissionError(MamlError):
    """The document's permissions or the local policy forbid the action."""


class MamlSignatureError(MamlError):
    """A signature is missing, malformed or does not verify."""


class StoreError(DunesError):
    """The BELUGA graph store failed."""


class NodeNotFoundError(StoreError):
    """No graph node has the given id."""


class ArtifactError(StoreError):
    """An artifact file is missing or its content does not match its sha256."""


class InvalidInputError(DunesError):
    """A request field has the wrong type or value; the message names what is accepted."""


class LimitExceededError(DunesError):
    """A request exceeds a configured limit (qubits, shots, body size, rate)."""


class AuthenticationError(DunesError):
    """A request lacks a valid API key."""


class RateLimitedError(LimitExceededError):
    """A key (or client) sent more requests than ``api.rate_limit_per_minute`` allows."""

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message, field="api.rate_limit_per_minute")
        self.retry_after_s = retry_after_s
