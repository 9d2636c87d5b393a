"""MCP tools for MAML documents: validate_maml, run_maml."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from dunes.errors import DunesError
from dunes.interfaces.mcp.deps import Services, run_tool
from dunes.maml import DocumentReport, MamlRunResult
from dunes.services import maml as maml_service

T = TypeVar("T")
Progress = Callable[[float, str], None]

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
    async def validate_maml(document: Document = None, example: Example = None) -> DocumentReport:
        """Check a MAML document (front matter schema, blocks, signature) without running it."""

        def work() -> DocumentReport:
            text = maml_service.document_text(document=document, example=example)
            return maml_service.validate_maml(text=text)

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
    ) -> MamlRunResult:
        """Run a MAML document under its permissions, reporting each block as progress.

        Refused before anything runs when the document's permissions (execute), its signature
        or the execution policy forbid it: bash, sh and python blocks run only from documents
        signed by a trusted key; circuit, qasm and yaml blocks run unsigned.
        Cancelling the call stops the running block.
        """

        def work(cancel: threading.Event, progress: Progress) -> MamlRunResult:
            return maml_service.run_maml(
                services=services,
                text=maml_service.document_text(document=document, example=example),
                origin="network",
                block=block,
                params=params,
                dry_run=dry_run,
                cancel=cancel,
                progress=progress,
            )

        return await run_cancellable(work, ctx)
