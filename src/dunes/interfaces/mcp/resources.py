"""MCP resources: read-only views of devices, jobs, the graph and the shipped MAML examples."""

from __future__ import annotations

import json

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resources import FunctionResource

from dunes.devices import discover
from dunes.errors import ArtifactError, JobError
from dunes.interfaces.mcp.deps import Services, run_resource
from dunes.interfaces.mcp.schemas import EdgeOut, GpusOut, JobResultOut, NodeOut
from dunes.maml import list_examples, read_example
from dunes.quantum.backend import aer_info
from dunes.quantum.result import complex_pairs

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
        out = await run_resource(lambda: GpusOut.build(discover(), aer_info()))
        return out.model_dump_json(indent=2)

    @server.resource(
        "dunes://jobs/{job_id}",
        name="job",
        title="Job",
        description="A job's status and, once done, its report, circuit, counts and graph ids.",
        mime_type="application/json",
    )
    async def job(job_id: str) -> str:
        def work() -> str:
            orchestrator = services.orchestrator
            status = orchestrator.status(job_id)
            result = orchestrator.result(job_id, wait=False) if status.done else None
            return JobResultOut.build(status, result).model_dump_json(indent=2)

        return await run_resource(work)

    @server.resource(
        "dunes://jobs/{job_id}/statevector",
        name="job-statevector",
        title="Job statevector",
        description="The final state of a finished job as JSON [re, im] pairs (qubit 0 rightmost).",
        mime_type="application/json",
    )
    async def statevector(job_id: str) -> str:
        def work() -> str:
            result = services.orchestrator.result(job_id, wait=False)
            simulation = result.simulation
            if simulation is None and result.results and len(result.results) == 1:
                simulation = result.results[0]
            if simulation is None:
                raise JobError(
                    f"job {job_id} ({result.status}) has no single simulation with a state"
                )
            limit = services.settings.quantum.statevector_json_max_qubits
            if simulation.num_qubits > limit:
                where = (
                    f"; the state is in {simulation.artifact.path} (sha256 {simulation.artifact.sha256})"
                    if simulation.artifact
                    else ""
                )
                raise ArtifactError(
                    f"a {simulation.num_qubits}-qubit state is too large for JSON (limit "
                    f"{limit} qubits, setting quantum.statevector_json_max_qubits){where}"
                )
            state = simulation.state
            if state is None:
                raise JobError(f"job {job_id} kept no statevector (it was sampled only)")
            return json.dumps(
                {
                    "job_id": job_id,
                    "num_qubits": simulation.num_qubits,
                    "circuit": simulation.circuit,
                    "statevector": complex_pairs(state),
                }
            )

        return await run_resource(work)

    @server.resource(
        "dunes://graph/{node_id}",
        name="graph-node",
        title="Graph node",
        description="A node of the provenance graph with the relations that start or end at it.",
        mime_type="application/json",
    )
    async def graph_node(node_id: str) -> str:
        def work() -> str:
            store = services.store
            node = store.get_node(node_id)
            edges = store.edges_of(node.id)
            return json.dumps(
                {
                    "node": NodeOut.from_node(node).model_dump(mode="json"),
                    "edges": [
                        EdgeOut(src=e.src, relation=e.relation, dst=e.dst).model_dump()
                        for e in edges
                    ],
                },
                indent=2,
            )

        return await run_resource(work)

    @server.resource(
        "dunes://maml/{name}",
        name="maml-example",
        title="MAML example",
        description="A MAML document shipped with dunes (run it with run_maml example=<name>).",
        mime_type=MAML_MIME,
    )
    async def maml_example(name: str) -> str:
        return await run_resource(read_example, name)

    for example in list_examples():
        server.add_resource(
            FunctionResource.from_function(
                fn=lambda example=example: read_example(example),
                uri=f"dunes://maml/{example}",
                name=f"maml-{example}",
                title=f"MAML example {example}",
                description="A MAML document shipped with dunes.",
                mime_type=MAML_MIME,
            )
        )
