"""MCP tools for the provenance graph: search_graph, lineage."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations
from pydantic import Field

from dunes.beluga import Lineage
from dunes.constants import Direction
from dunes.interfaces.mcp.deps import Services, run_tool
from dunes.services import graph as graph_service
from dunes.services.public import SearchResult


def register(server: MCPServer, services: Services) -> None:
    """Add the graph tools to ``server``."""

    @server.tool(
        title="Search the graph",
        annotations=ToolAnnotations(
            read_only_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def search_graph(
        query: Annotated[
            str, Field(min_length=1, max_length=10_000, description="What to look for.")
        ],
        top_k: Annotated[int, Field(ge=1, le=100, description="Nodes to return.")] = 5,
        kind: Annotated[
            str | None,
            Field(max_length=64, description="Only nodes of this kind (task, report, ...)."),
        ] = None,
    ) -> SearchResult:
        """Find earlier tasks, reports and states similar to a text, by embedding similarity.

        Each hit is a graph node (its data holds the job_id) with its cosine similarity; one
        hit per distinct content. Follow a hit with lineage or get_job.
        """
        return await run_tool(
            graph_service.search_graph, services=services, text=query, top=top_k, kind=kind
        )

    @server.tool(
        title="Lineage of a node",
        annotations=ToolAnnotations(
            read_only_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def lineage(
        node_id: Annotated[
            str,
            Field(
                min_length=1,
                max_length=128,
                description="A graph node id (or unique prefix): a job id, circuit sha256, ...",
            ),
        ],
        depth: Annotated[int, Field(ge=0, le=100, description="Hops to follow.")] = 3,
        direction: Direction = "both",
    ) -> Lineage:
        """What a node came from (upstream) and what came from it (downstream) in the graph."""
        return await run_tool(
            graph_service.lineage,
            services=services,
            node_id=node_id,
            depth=depth,
            direction=direction,
        )
