"""The BELUGA provenance graph: nodes, lineage and similarity search."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from dunes.beluga import Lineage, Node
from dunes.interfaces.api.deps import ClientDep, GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES

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


class SearchHit(BaseModel):
    """One node and its cosine similarity to the query."""

    node: Node
    score: float = Field(examples=[0.83])


class SearchResult(BaseModel):
    """Nodes nearest to a text, best first."""

    query: str
    model: str = Field(description="The encoder that embedded the query.")
    hits: list[SearchHit]


def _strip(node: Node, keep: bool) -> Node:
    return node if keep else node.model_copy(update={"embedding": None})


@router.get("/search", summary="Nodes whose embeddings are nearest to a text")
async def search(
    gateway: GatewayDep,
    _client: ClientDep,
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
    def run() -> SearchResult:
        runtime = gateway.agents()
        vector = runtime.embed([q], "planner")[0]
        hits = gateway.store().search(vector, top_k=top_k, kind=kind)
        return SearchResult(
            query=q,
            model=runtime.model_name("planner"),
            hits=[SearchHit(node=_strip(node, embedding), score=score) for node, score in hits],
        )

    return await gateway.run(run)


@router.get("/{node_id}", summary="One node (entity, activity or agent) by id or id prefix")
async def get_node(
    node_id: NodeId, gateway: GatewayDep, _client: ClientDep, embedding: WithEmbedding = False
) -> Node:
    node = await run_in_threadpool(gateway.store().get_node, node_id)
    return _strip(node, embedding)


@router.get("/{node_id}/lineage", summary="What a node came from and what came from it")
async def lineage(
    node_id: NodeId,
    gateway: GatewayDep,
    _client: ClientDep,
    depth: Annotated[int, Query(ge=0, le=100, description="Hops to follow.")] = 3,
    direction: Annotated[Literal["upstream", "downstream", "both"], Query()] = "both",
    embedding: WithEmbedding = False,
) -> Lineage:
    found = await run_in_threadpool(
        lambda: gateway.store().lineage(node_id, depth=depth, direction=direction)
    )
    if embedding:
        return found
    return found.model_copy(update={"nodes": [_strip(n, False) for n in found.nodes]})
