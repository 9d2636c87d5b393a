"""MAML documents: validate without running, or run under the server's MAML policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from dunes.interfaces.api.deps import ClientDep, GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.maml import DocumentReport, MamlRunResult
from dunes.services import maml as maml_service
from dunes.services.requests import MamlDocumentIn, MamlRunIn

router = APIRouter(prefix="/v1/maml", tags=["maml"], responses=PROBLEM_RESPONSES)

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


@router.post("/validate", summary="Parse and check a document without running it")
async def validate(
    body: Annotated[
        MamlDocumentIn,
        Body(
            openapi_examples={
                "bell": {"summary": "A small document", "value": {"document": EXAMPLE_DOCUMENT}}
            }
        ),
    ],
    gateway: GatewayDep,
    _client: ClientDep,
) -> DocumentReport:
    return await gateway.run(maml_service.validate_maml, text=body.document)


@router.post(
    "/run",
    summary="Run a document under its permissions and the execution policy (process blocks need a trusted signature)",
    response_description="Per block: status, output and timing; the run is recorded in the graph.",
)
async def run(
    body: Annotated[
        MamlRunIn,
        Body(
            openapi_examples={
                "bell": {"summary": "Run a small document", "value": {"document": EXAMPLE_DOCUMENT}}
            }
        ),
    ],
    gateway: GatewayDep,
    _client: ClientDep,
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
