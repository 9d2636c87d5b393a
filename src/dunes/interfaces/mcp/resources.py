"""MCP resources: read-only views of devices, jobs, the graph and the shipped MAML examples."""

from __future__ import annotations

import json

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resources import FunctionResource

from dunes.interfaces.mcp.deps import Services, run_resource
from dunes.interfaces.mcp.tools_jobs import result_of
from dunes.services import graph as graph_service
from dunes.services import jobs as job_service
from dunes.services import maml as maml_service
from dunes.services.devices import describe_devices
from dunes.services.threads import io_bound

MAML_MIME = "text/markdown"


def register(server: MCPServer, services: Services) -> None:
    """Add the resources to ``server``."""

    @server.resource(
        "dunes://gpus",
        name="gpus",
        title="Devices",
        description="GPUs and CPU this server can use, with free memory, and the Aer build.",
        mime_type="application/json",
    )
    async def gpus() -> str:
        out = await run_resource(describe_devices)
        return out.model_dump_json(indent=2)

    @server.resource(
        "dunes://jobs/{job_id}",
        name="job",
        title="Job",
        description="A job's status and, once done, its report, circuit, counts and graph ids.",
        mime_type="application/json",
    )
    async def job(job_id: str) -> str:
        @io_bound
        def work() -> str:
            return result_of(services, job_id).model_dump_json(indent=2)

        return await run_resource(work)

    @server.resource(
        "dunes://jobs/{job_id}/statevector",
        name="job-statevector",
        title="Job statevector",
        description="The final state of a finished job as JSON [re, im] pairs (qubit 0 rightmost).",
        mime_type="application/json",
    )
    async def statevector(job_id: str) -> str:
        found = await run_resource(job_service.job_statevector, services=services, job_id=job_id)
        return json.dumps(found)

    @server.resource(
        "dunes://graph/{node_id}",
        name="graph-node",
        title="Graph node",
        description="A node of the provenance graph with its neighbours one hop away.",
        mime_type="application/json",
    )
    async def graph_node(node_id: str) -> str:
        @io_bound
        def work() -> str:
            found = graph_service.lineage(services=services, node_id=node_id, depth=1)
            return found.model_dump_json(indent=2)

        return await run_resource(work)

    @server.resource(
        "dunes://maml/{name}",
        name="maml-example",
        title="MAML example",
        description="A MAML document shipped with dunes (run it with run_maml example=<name>).",
        mime_type=MAML_MIME,
    )
    async def maml_example(name: str) -> str:
        return await run_resource(maml_service.document_text, document=None, example=name)

    for example in maml_service.example_names():
        server.add_resource(
            FunctionResource.from_function(
                fn=lambda example=example: maml_service.document_text(
                    document=None, example=example
                ),
                uri=f"dunes://maml/{example}",
                name=f"maml-{example}",
                title=f"MAML example {example}",
                description="A MAML document shipped with dunes.",
                mime_type=MAML_MIME,
            )
        )
