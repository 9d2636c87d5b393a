"""Stored artifacts (statevectors as ``.npy``), addressed by their sha256."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from dunes.interfaces.api.deps import GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.services import graph as graph_service

router = APIRouter(prefix="/v1/artifacts", tags=["artifacts"], responses=PROBLEM_RESPONSES)

NPY_MEDIA_TYPE = "application/x-npy"

ArtifactId = Annotated[
    str,
    Path(
        pattern="^[0-9a-f]{64}$",
        description="sha256 of the array's bytes, as in a result's artifact.",
        examples=["9f2c4d8a1b3e5f7091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708"],
    ),
]


@router.get(
    "/{artifact_id}",
    summary="Download a statevector artifact (.npy, numpy.load reads it)",
    response_class=FileResponse,
    responses={200: {"content": {NPY_MEDIA_TYPE: {}}, "description": "A .npy file"}},
)
async def get_artifact(artifact_id: ArtifactId, gateway: GatewayDep) -> FileResponse:
    path = graph_service.artifact_file(services=gateway.services, sha256=artifact_id)
    return FileResponse(path, media_type=NPY_MEDIA_TYPE, filename=f"{artifact_id}.npy")
