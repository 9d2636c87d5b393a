"""One ``Settings`` object, read from ``DUNES_*`` variables and an optional TOML file.

Nested sections use ``__`` in variable names: ``DUNES_QUANTUM__MAX_QUBITS=28``. The TOML file is
``$DUNES_CONFIG`` or ``./dunes.toml`` when present. Build settings with :func:`get_settings`
(never at import time) so tests and processes can change the environment first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from dunes.constants import CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE, ENV_PREFIX, Role


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuantumSettings(_Section):
    """Limits and defaults of the simulator."""

    max_qubits: int = Field(
        65_536,
        ge=1,
        le=65_536,
        description="Widest circuit accepted at all; what each method reaches is set by memory.",
    )
    max_shots: int = Field(1_000_000, ge=0)
    statevector_json_max_qubits: int = Field(
        16, ge=1, le=30, description="Above this the JSON holds only the top amplitudes."
    )
    top_amplitudes: int = Field(32, ge=1, description="Amplitudes kept in JSON for big states.")
    default_shots: int = Field(0, ge=0)
    fallback_shots: int = Field(
        4096,
        ge=1,
        description="Samples drawn when no exact distribution is in reach (said in reasons).",
    )
    max_outcomes: int = Field(
        65_536, ge=1, description="Most outcomes an exact distribution lists; beyond, samples."
    )
    max_branch_amplitudes: int = Field(
        2**26,
        ge=2,
        description="Amplitudes all branches of a mid-circuit-measured circuit may hold at once.",
    )
    default_device: Literal["auto", "cpu", "gpu"] = "auto"
    cpu_memory_fraction: float = Field(
        0.8, gt=0, le=1, description="Share of free host memory a state may take."
    )
    gpu_memory_fraction: float = Field(
        0.9, gt=0, le=1, description="Share of free GPU memory a state (or chunk) may take."
    )


class AgentSettings(_Section):
    """Models of the four roles, their placement and batching."""

    models: dict[Role, str] = Field(
        default_factory=dict,
        description="Role -> local Hugging Face directory; unset roles use the packaged MiniLM.",
    )
    placement: dict[Role, str] = Field(
        default_factory=dict, description="Role -> device ('cpu', 'cuda:1') overriding the plan."
    )
    max_batch_size: int = Field(32, ge=1)
    max_wait_ms: float = Field(5.0, ge=0)
    half_precision: bool = Field(True, description="fp16/bf16 on GPU where safe.")
    confidence_threshold: float = Field(0.35, ge=0, le=1)


class StoreSettings(_Section):
    """Where the BELUGA graph lives."""

    url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file in the data directory."
    )
    artifact_retention_days: float | None = Field(
        None,
        gt=0,
        description="'dunes graph gc' removes state artifacts older than this (default: keep).",
    )
    artifact_max_bytes: int | None = Field(
        None,
        gt=0,
        description="'dunes graph gc' removes the oldest artifacts beyond this total.",
    )


class ExecutorSettings(_Section):
    """Which executor runs jobs and how."""

    kind: Literal["local", "celery"] = "local"
    cpu_workers: int = Field(1, ge=1, description="Local worker processes for the CPU.")
    broker_url: str = "redis://127.0.0.1:6379/0"
    result_backend: str = "redis://127.0.0.1:6379/0"
    task_soft_time_limit_s: int = Field(1800, ge=1)
    task_time_limit_s: int = Field(1900, ge=1)
    visibility_timeout_s: int = Field(7200, ge=1)
    job_wait_timeout_s: float = Field(300.0, gt=0)
    progress_delay_ms: float = Field(
        20.0,
        ge=0,
        le=10_000,
        description="How long a job's step may wait to be written with the steps after it.",
    )


class ApiSettings(_Section):
    """REST gateway and MCP HTTP limits and keys."""

    api_keys: list[SecretStr] = Field(
        default_factory=list, description="Bearer tokens accepted off loopback."
    )
    max_body_bytes: int = Field(1_000_000, ge=1)
    rate_limit_per_minute: int = Field(600, ge=1)
    sync_wait_timeout_s: float = Field(120.0, gt=0)
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the servers answer to besides loopback names and the bound "
        "address (e.g. the name of a TLS proxy in front); '*' turns the Host check off.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins (https://app.example.org) whose pages may call the REST API from "
        "a browser; none by default.",
    )


class MamlSettings(_Section):
    """Policy for running MAML documents."""

    require_signature: bool = False
    allowed_languages: list[str] = Field(
        default_factory=lambda: ["bash", "sh", "python", "qasm", "circuit", "yaml"]
    )
    block_timeout_s: float = Field(60.0, gt=0)
    trusted_keys: list[Path] = Field(default_factory=list)
    allow_unsigned_network_code: bool = Field(
        False,
        description="Run bash/python blocks of unsigned documents that came over the network "
        "(REST, MCP). Off: they need a signature by a trusted key.",
    )
    sandbox_memory_mb: int = Field(2048, ge=16, description="Address space of a block's process.")
    sandbox_cpu_s: float | None = Field(
        None, gt=0, description="CPU seconds of a block (default: its timeout)."
    )
    sandbox_file_size_mb: int = Field(256, ge=1, description="Largest file a block may write.")
    sandbox_open_files: int = Field(256, ge=16)
    sandbox_processes: int = Field(
        256, ge=1, description="Processes of the server's user (not enforced for root)."
    )
    sandbox_network: bool = Field(
        False,
        description="Let blocks reach the network. Off: a network namespace of their own "
        "(loopback only) where the OS allows one.",
    )


class RuntimeSettings(_Section):
    """The warm local runtime the CLI starts on first use (``dunes runtime``)."""

    enabled: bool = Field(
        True,
        description="dunes run and dunes agents plan go through a runtime that keeps models "
        "and workers loaded between calls; off: every call loads them itself.",
    )
    idle_timeout_s: float = Field(900.0, gt=0, description="The runtime exits after this idle.")


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "dunes"


class Settings(BaseSettings):
    """Everything configurable in dunes."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    log_level: str = "WARNING"
    quantum: QuantumSettings = QuantumSettings()
    agents: AgentSettings = AgentSettings()
    store: StoreSettings = StoreSettings()
    executor: ExecutorSettings = ExecutorSettings()
    api: ApiSettings = ApiSettings()
    maml: MamlSettings = MamlSettings()
    runtime: RuntimeSettings = RuntimeSettings()

    @property
    def database_url(self) -> str:
        """The store URL, defaulting to a SQLite file under ``data_dir``."""
        return self.store.url or f"sqlite:///{self.data_dir / 'beluga.sqlite3'}"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


def get_settings(**overrides: object) -> Settings:
    """Read settings now (environment, then TOML file); ``overrides`` win over both."""
    import tomllib

    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from dunes.errors import ConfigError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        env = ENV_PREFIX + "__".join(str(p) for p in first["loc"]).upper()
        raise ConfigError(
            f"invalid setting {where} (env {env}): {first['msg']} (got {first.get('input')!r})",
            field=where,
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        path = os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE)
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    except (SettingsError, OSError) as exc:
        raise ConfigError(f"settings could not be read: {exc}") from exc
