"""MCP tools for the provenance graph: search_graph, lineage."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from dunes.beluga import Lineage
from dunes.constants import Direction
from dunes.interfaces.mcp.deps import READS, Services, run_tool
from dunes.services import graph as graph_service
from dunes.services.public import SearchResult
from dunes.services.requests import Depth, KindFilter, NodeId, SearchText, TopK


def register(server: MCPServer, services: Services) -> None:
    """Add the graph tools to ``server``."""

    @server.tool(
        title="Search the graph",
        annotations=READS,
    )
    async def search_graph(
        query: SearchText, top_k: TopK = 5, kind: KindFilter = None
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
        annotations=READS,
    )
    async def lineage(
        node_id: NodeId,
        depth: Depth = 3,
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
