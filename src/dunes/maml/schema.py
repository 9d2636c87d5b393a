"""The front matter schema of MAML v1 (see docs/maml.md), accepting both the seed's and the
vendor language guide's field shapes; unknown fields are kept (``extra="allow"``)."""

from __future__ import annotations

import fnmatch
import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SIGNATURE_ALG = "ML-DSA-65"
CIPHER = "AES-256-GCM"
RUNNER_PRINCIPALS = ("dunes", "agent://dunes", "gateway://dunes")
_VERSION = re.compile(r"^\d+(\.\d+){0,2}$")

Grant = bool | list[str]


class Permissions(BaseModel):
    """Who may read, write and execute; a bool (seed) or a list of principal patterns (guide)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    read: Grant = True
    write: Grant = False
    execute: Grant = False

    @field_validator("read", "write", "execute", mode="before")
    @classmethod
    def _one_or_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            if "://" not in value and value != "*":
                raise ValueError(
                    f"{value!r} is neither true/false nor a principal like agent://name; "
                    "accepted: true, false, or a list of principals"
                )
            return [value]
        return value

    def allows(self, action: Literal["read", "write", "execute"]) -> bool:
        """Whether the dunes runner holds ``action``: true, or a pattern matching its principal."""
        grant = getattr(self, action)
        if isinstance(grant, bool):
            return grant
        return any(fnmatch.fnmatchcase(p, pat) for pat in grant for p in (*RUNNER_PRINCIPALS, "*"))


class Signature(BaseModel):
    """The embedded signature written by ``dunes maml sign``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alg: Literal["ML-DSA-65"]
    key_id: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    signed_at: datetime | str
    value: str = Field(min_length=1)


class Envelope(BaseModel):
    """Marks a whole document encrypted by ``dunes maml encrypt``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alg: Literal["AES-256-GCM"]
    key_id: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    nonce: str
    scope: Literal["document"] = "document"


class FrontMatter(BaseModel):
    """MAML v1 front matter; ``schema_version`` (seed) or ``maml_version`` (guide) is required."""

    model_config = ConfigDict(extra="allow", frozen=True)

    schema_version: str | None = None
    maml_version: str | None = None
    id: str | None = None
    type: str | None = None
    title: str | None = None
    context: str | dict[str, Any] | None = None
    origin: str | None = None
    requires: dict[str, Any] | list[str] | None = None
    created_at: datetime | date | None = None
    permissions: Permissions = Permissions()
    encryption: Literal["2048-AES", "none"] = "none"
    parameters: dict[str, str | int | float | bool] = Field(default_factory=dict)
    signature: Signature | None = None
    encrypted: Envelope | None = None

    @field_validator("schema_version", "maml_version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("a version number like 1.0 is expected, not a boolean")
        if isinstance(value, int | float):
            value = str(value)
        if isinstance(value, str) and not _VERSION.match(value.strip()):
            raise ValueError(f"{value!r} is not a version; expected e.g. 1.0 or 1.0.0")
        return value.strip() if isinstance(value, str) else value

    @field_validator("encryption", mode="before")
    @classmethod
    def _profile(cls, value: Any) -> Any:
        if value is None or value is False:
            return "none"
        if isinstance(value, str) and value.strip().upper() in {"2048-AES", "AES-2048"}:
            return "2048-AES"
        return value

    @model_validator(mode="after")
    def _needs_version(self) -> FrontMatter:
        if self.schema_version is None and self.maml_version is None:
            raise ValueError("front matter needs schema_version (or maml_version), e.g. 1.0")
        if self.schema_version is not None and self.schema_version.split(".")[0] != "1":
            raise ValueError(f"schema_version {self.schema_version} unsupported; accepted: 1.x")
        return self

    @property
    def version(self) -> str:
        return self.schema_version or self.maml_version or "1.0"

    @property
    def extras(self) -> dict[str, Any]:
        return dict(self.model_extra or {})
