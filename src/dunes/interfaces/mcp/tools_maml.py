"""MCP tools for MAML documents: validate_maml, run_maml."""

from __future__ import annotations

from threading import Event

from mcp.server.mcpserver import Context, MCPServer

from dunes.interfaces.mcp.deps import READS, RECORDS, Services, run_cancellable, run_tool
from dunes.maml import DocumentReport, MamlRunResult
from dunes.services import maml as maml_service
from dunes.services.requests import BlockName, Document, DryRun, ExampleName, Params
from dunes.services.threads import Progress

#: Blocks may run processes that reach outside (under the policy and the sandbox).
RUNS_CODE = RECORDS.model_copy(update={"destructive_hint": True, "open_world_hint": True})


def register(server: MCPServer, services: Services) -> None:
    """Add the MAML tools to ``server``."""

    @server.tool(title="Validate a MAML document", annotations=READS)
    async def validate_maml(
        document: Document | None = None, example: ExampleName = None
    ) -> DocumentReport:
        """Check a MAML document (front matter schema, blocks, signature) without running it."""

        def work() -> DocumentReport:
            text = maml_service.document_text(document=document, example=example)
            return maml_service.validate_maml(text=text)

        return await run_tool(work)

    @server.tool(title="Run a MAML document", annotations=RUNS_CODE)
    async def run_maml(
        ctx: Context,
        document: Document | None = None,
        example: ExampleName = None,
        block: BlockName = None,
        params: Params | None = None,
        dry_run: DryRun = False,
    ) -> MamlRunResult:
        """Run a MAML document under its permissions, reporting each block as progress.

        Refused before anything runs when the document's permissions (execute), its signature
        or the execution policy forbid it: bash, sh and python blocks run only from documents
        signed by a trusted key; circuit, qasm and yaml blocks run unsigned.
        Cancelling the call stops the running block.
        """

        def work(cancel: Event, progress: Progress) -> MamlRunResult:
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
