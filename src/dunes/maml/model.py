"""The parsed shape of a MAML document: front matter, sections, code blocks, findings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from dunes.maml.schema import FrontMatter

Severity = Literal["error", "warning"]


class Finding(BaseModel):
    """One problem found in a document, with the line (1-based, in the file) it is on."""

    model_config = ConfigDict(frozen=True)

    severity: Severity
    code: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.message}"


@dataclass(frozen=True)
class CodeBlock:
    """A fenced code block; ``name`` comes from ``{name=...}`` or the section heading."""

    index: int
    name: str
    language: str
    attributes: dict[str, str]
    content: str
    info: str
    section: str
    line: int
    end_line: int
    explicit_name: bool = False
    encrypted: bool = False

    @property
    def sha256(self) -> str:
        """Hash of what runs: the info string and the content."""
        return hashlib.sha256(f"{self.info}\n{self.content}".encode()).hexdigest()


@dataclass(frozen=True)
class Section:
    """A heading and the lines under it, up to the next heading of the same or higher level."""

    level: int
    title: str
    line: int
    end_line: int


@dataclass
class MamlDocument:
    """A parsed document; ``front_matter`` is None when the schema did not validate."""

    text: str
    raw_front_matter: dict[str, Any]
    front_matter: FrontMatter | None
    body_offset: int
    sections: list[Section]
    blocks: list[CodeBlock]
    findings: list[Finding] = field(default_factory=list)
    history_line: int | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def block(self, name: str) -> CodeBlock:
        """The block called ``name``.

        Raises:
            MamlValidationError: no such block; the message lists the names there are.
        """
        from dunes.errors import MamlValidationError

        for block in self.blocks:
            if block.name == name:
                return block
        names = ", ".join(b.name for b in self.blocks) or "none"
        raise MamlValidationError(f"no block named {name!r}; blocks: {names}", field="block")


class DocumentReport(BaseModel):
    """What ``validate_document`` returns: usable by CLI, REST and MCP alike."""

    valid: bool
    signed: bool
    title: str | None
    front_matter: dict[str, Any]
    blocks: list[dict[str, Any]]
    errors: list[Finding]
    warnings: list[Finding]
