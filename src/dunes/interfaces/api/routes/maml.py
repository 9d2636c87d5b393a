"""MAML documents: validate without running, or run under the server's MAML policy."""

from __future__ import annotations

from fastapi import APIRouter

from dunes.interfaces.api.deps import GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.maml import DocumentReport, MamlRunResult
from dunes.services import maml as maml_service
from dunes.services.requests import MamlDocumentIn, MamlRunIn

router = APIRouter(prefix="/v1/maml", tags=["maml"], responses=PROBLEM_RESPONSES)


@router.post("/validate", summary="Parse and check a document without running it")
async def validate(
    body: MamlDocumentIn,
    gateway: GatewayDep,
) -> DocumentReport:
    return await gateway.run(maml_service.validate_maml, text=body.document)


@router.post(
    "/run",
    summary="Run a document under its permissions and the execution policy (process blocks need a trusted signature)",
    response_description="Per block: status, output and timing; the run is recorded in the graph.",
)
async def run(
    body: MamlRunIn,
    gateway: GatewayDep,
) -> MamlRunResult:
    return await gateway.run(
        maml_service.run_maml,
        services=gateway.services,
        text=maml_service.document_text(document=body.document),
        origin="network",
        block=body.block,
        params=body.params,
        dry_run=body.dry_run,
    )
