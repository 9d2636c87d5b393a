"""The BELUGA provenance graph: nodes, lineage and similarity search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from dunes.beluga import Lineage, Node
from dunes.constants import Direction
from dunes.interfaces.api.deps import GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.services import graph as graph_service
from dunes.services.public import SearchResult

router = APIRouter(prefix="/v1/graph", tags=["graph"], responses=PROBLEM_RESPONSES)

NodeId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        description="A node id or a unique prefix of one (as in git).",
        examples=["9f2c4d8a"],
    ),
]
WithEmbedding = Annotated[
    bool, Query(description="Include stored embedding vectors (long lists of floats).")
]


@router.get("/search", summary="Nodes whose embeddings are nearest to a text")
async def search(
    gateway: GatewayDep,
    q: Annotated[
        str,
        Query(min_length=1, max_length=2000, description="Text to search for.", examples=["GHZ"]),
    ],
    top_k: Annotated[int, Query(ge=1, le=100)] = 5,
    kind: Annotated[
        str | None, Query(max_length=64, description="Only nodes of this kind.")
    ] = None,
    embedding: WithEmbedding = False,
) -> SearchResult:
    return await gateway.run(
        graph_service.search_graph,
        services=gateway.services,
        text=q,
        top=top_k,
        kind=kind,
        embedding=embedding,
    )


@router.get("/{node_id}", summary="One node (entity, activity or agent) by id or id prefix")
async def get_node(node_id: NodeId, gateway: GatewayDep, embedding: WithEmbedding = False) -> Node:
    return await gateway.run(
        graph_service.show_node, services=gateway.services, node_id=node_id, embedding=embedding
    )


@router.get("/{node_id}/lineage", summary="What a node came from and what came from it")
async def lineage(
    node_id: NodeId,
    gateway: GatewayDep,
    depth: Annotated[int, Query(ge=0, le=100, description="Hops to follow.")] = 3,
    direction: Annotated[Direction, Query()] = "both",
    embedding: WithEmbedding = False,
) -> Lineage:
    return await gateway.run(
        graph_service.lineage,
        services=gateway.services,
        node_id=node_id,
        depth=depth,
        direction=direction,
        embedding=embedding,
    )
