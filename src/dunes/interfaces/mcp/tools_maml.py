"""MCP tools for MAML documents: validate_maml, run_maml."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from dunes.errors import DunesError, InvalidInputError, MamlPermissionError
from dunes.interfaces.mcp.deps import Services, run_tool
from dunes.maml import BlockResult, MamlRunResult, read_example, run_document, validate_document

T = TypeVar("T")
Progress = Callable[[float, str], None]

#: Languages that run as processes on the server; over MCP only signed documents may run them.
SCRIPT_LANGUAGES = frozenset({"bash", "sh", "python"})
#: Characters of a block's stdout/stderr kept in the answer.
OUTPUT_CHARS = 4000

Document = Annotated[
    str | None,
    Field(
        max_length=1_000_000,
        description="The MAML document text (front matter, Markdown, fenced blocks).",
    ),
]
Example = Annotated[
    str | None,
    Field(
        max_length=200,
        description="Name of a shipped example instead of a document (see dunes://maml/...).",
    ),
]


class MamlBlockOut(BaseModel):
    """What one block did (outputs cut to a few thousand characters)."""

    name: str
    language: str
    line: int
    status: str
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    data: Any = None
    reason: str | None = None

    @classmethod
    def from_block(cls, block: BlockResult) -> MamlBlockOut:
        return cls(
            name=block.name,
            language=block.language,
            line=block.line,
            status=block.status,
            exit_code=block.exit_code,
            stdout=block.stdout[-OUTPUT_CHARS:],
            stderr=block.stderr[-OUTPUT_CHARS:],
            duration_s=block.duration_s,
            data=block.data,
            reason=block.reason,
        )


class MamlRunOut(BaseModel):
    """What a MAML run did."""

    run_id: str
    document_id: str
    status: str = Field(description="ok, failed, dry_run, drift or cancelled.")
    signed: bool
    blocks: list[MamlBlockOut]
    warnings: list[str] = Field(default_factory=list)
    drift: list[str] = Field(default_factory=list)
    graph: dict[str, Any] = Field(default_factory=dict, description="Ids written to the graph.")

    @classmethod
    def from_result(cls, result: MamlRunResult) -> MamlRunOut:
        return cls(
            run_id=result.run_id,
            document_id=result.document_id,
            status=result.status,
            signed=result.signed,
            blocks=[MamlBlockOut.from_block(b) for b in result.blocks],
            warnings=result.warnings,
            drift=result.drift,
            graph=result.graph,
        )


class MamlFinding(BaseModel):
    """One problem in a document."""

    severity: str
    code: str
    line: int | None = None
    message: str


class MamlValidationOut(BaseModel):
    """Whether a document is valid, and what is wrong where."""

    valid: bool
    signed: bool
    title: str | None = None
    front_matter: dict[str, Any]
    blocks: list[dict[str, Any]]
    errors: list[MamlFinding]
    warnings: list[MamlFinding]


def document_text(document: str | None, example: str | None) -> str:
    """The document to work on: the text given, or a shipped example.

    Raises:
        InvalidInputError: neither or both given, or the text looks like a path.
        MamlError: no example of that name.
    """
    if (document is None) == (example is None):
        raise InvalidInputError("give exactly one of document or example", field="document")
    if example is not None:
        return read_example(example)
    assert document is not None
    if "\n" not in document.strip():
        # Paths are not read: the server's files are not the client's to run.
        raise InvalidInputError(
            "document must be the MAML text itself (front matter, Markdown, fenced blocks); "
            "to use a shipped example pass example=<name>",
            field="document",
        )
    return document


async def run_cancellable(work: Callable[[threading.Event, Progress], T], ctx: Context) -> T:
    """Run ``work(cancel, progress)`` in a thread, relaying progress; cancelling sets ``cancel``."""
    cancel = threading.Event()
    finished = threading.Event()
    last = [-1.0]

    def progress(fraction: float, message: str) -> None:
        if fraction <= last[0]:
            return
        last[0] = fraction
        try:
            anyio.from_thread.run(ctx.report_progress, fraction, 1.0, message)
        except Exception:  # the client left; the work goes on to its end
            return

    def body() -> T:
        try:
            return work(cancel, progress)
        finally:
            finished.set()

    try:
        return await anyio.to_thread.run_sync(body, abandon_on_cancel=True)
    except DunesError as exc:
        raise ToolError(str(exc)) from exc
    except anyio.get_cancelled_exc_class():
        cancel.set()
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(finished.wait, 30.0)
        raise


def register(server: MCPServer, services: Services) -> None:
    """Add the MAML tools to ``server``."""

    @server.tool(
        title="Validate a MAML document",
        annotations=ToolAnnotations(
            read_only_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def validate_maml(
        document: Document = None, example: Example = None
    ) -> MamlValidationOut:
        """Check a MAML document (front matter schema, blocks, signature) without running it."""

        def work() -> MamlValidationOut:
            report = validate_document(document_text(document, example))
            return MamlValidationOut.model_validate(report.model_dump(mode="json"))

        return await run_tool(work)

    @server.tool(
        title="Run a MAML document",
        annotations=ToolAnnotations(
            read_only_hint=False,
            destructive_hint=True,
            idempotent_hint=False,
            open_world_hint=True,
        ),
    )
    async def run_maml(
        ctx: Context,
        document: Document = None,
        example: Example = None,
        block: Annotated[str | None, Field(description="Run only this block (its name).")] = None,
        params: Annotated[
            dict[str, str] | None, Field(description="Values for the document's parameters.")
        ] = None,
        dry_run: Annotated[
            bool, Field(description="Check everything and list the blocks, run nothing.")
        ] = False,
    ) -> MamlRunOut:
        """Run a MAML document under its permissions, reporting each block as progress.

        Refused before anything runs when the document's permissions (execute), its signature
        or the server's language policy forbid it. Over MCP, bash/sh/python blocks run only
        from documents signed by a trusted key; circuit, qasm and yaml blocks run unsigned.
        Cancelling the call stops the running block.
        """

        def work(cancel: threading.Event, progress: Progress) -> MamlRunResult:
            text = document_text(document, example)
            checked = run_document(
                settings=services.settings, text=text, block=block, params=params, dry_run=True
            )
            if dry_run:
                return checked
            scripts = sorted(
                {
                    b.language
                    for b in checked.blocks
                    if b.status == "planned" and b.language in SCRIPT_LANGUAGES
                }
            )
            if scripts and not checked.signed:
                runnable = [b.name for b in checked.blocks if b.language not in SCRIPT_LANGUAGES]
                raise MamlPermissionError(
                    f"the document is not signed, and over MCP {', '.join(scripts)} blocks run "
                    "only from documents signed by a trusted key (dunes maml sign); run one "
                    f"circuit, qasm or yaml block with block=<name> ({', '.join(runnable) or 'none'})",
                    field="document",
                )
            return run_document(
                settings=services.settings,
                text=text,
                block=block,
                params=params,
                cancel=cancel,
                progress=progress,
            )

        return MamlRunOut.from_result(await run_cancellable(work, ctx))
