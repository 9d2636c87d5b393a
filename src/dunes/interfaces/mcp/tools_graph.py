"""MCP tools for the provenance graph: search_jobs, lineage."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations
from pydantic import Field

from dunes.errors import JobNotFoundError
from dunes.interfaces.mcp.deps import Services, run_tool
from dunes.interfaces.mcp.schemas import LineageOut, SearchHit, SearchOut

#: Nodes fetched per wanted job: several nodes (one per role) usually belong to one job.
NODES_PER_JOB = 8


def register(server: MCPServer, services: Services) -> None:
    """Add the graph tools to ``server``."""

    @server.tool(
        title="Search jobs",
        annotations=ToolAnnotations(
            read_only_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def search_jobs(
        query: Annotated[
            str, Field(min_length=1, max_length=10_000, description="What to look for.")
        ],
        top_k: Annotated[int, Field(ge=1, le=100, description="Jobs to return.")] = 5,
    ) -> SearchOut:
        """Find earlier jobs similar to a text, by embedding similarity over the graph.

        The query is embedded by the planner's model and compared with the recorded agent
        outputs; each job appears once, with its best score.
        """

        def work() -> SearchOut:
            vector = services.agents.embed([query], role="planner")[0]
            found = services.store.search(vector, top_k=top_k * NODES_PER_JOB)
            hits: dict[str, SearchHit] = {}
            for node, score in found:
                job_id = node.data.get("job_id")
                if not isinstance(job_id, str) or job_id in hits:
                    continue
                try:
                    job = services.orchestrator.status(job_id)
                except JobNotFoundError:
                    continue
                task = job.input.get("task")
                hits[job_id] = SearchHit(
                    job_id=job_id,
                    score=score,
                    node_id=node.id,
                    node_kind=node.kind,
                    status=job.status,
                    task=task if isinstance(task, str) else None,
                )
                if len(hits) == top_k:
                    break
            return SearchOut(query=query, hits=list(hits.values()))

        return await run_tool(work)

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
        direction: Literal["upstream", "downstream", "both"] = "both",
    ) -> LineageOut:
        """What a node came from (upstream) and what came from it (downstream) in the graph."""
        found = await run_tool(services.store.lineage, node_id, depth=depth, direction=direction)
        return LineageOut.from_lineage(found)
