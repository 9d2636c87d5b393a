"""One service layer: the same simulate, run and search requests through the CLI, a real
``dunes serve`` and the MCP server give the same result objects."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.client.client import Client

from dunes.config import get_settings
from dunes.interfaces.mcp import create_server
from dunes.orchestration import JobResult
from dunes.quantum import SimulationResult
from dunes.services.public import SearchResult
from tests.interfaces.api.conftest import clean_environment, dunes_executable, serve

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CIRCUIT = "h(0); cx(0,1); cx(1,2); measure"
TASK = "Prepare a 3-qubit GHZ state and sample it 200 times"
QUERY = "entangled state of three qubits"


def cli(data_dir: Path, *args: str) -> Any:
    done = subprocess.run(
        [dunes_executable(), *args, "--json"],
        env=clean_environment(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def simulation(data: dict[str, Any]) -> dict[str, Any]:
    """What must agree: everything but how long it took and where it was recorded."""
    parsed = SimulationResult.model_validate(data)
    return parsed.model_dump(mode="json", exclude={"timings"})


def job(data: dict[str, Any]) -> dict[str, Any]:
    """A job's result without its id, timings and graph ids (each run is a job of its own)."""
    parsed = JobResult.model_validate(data)
    out = parsed.model_dump(mode="json", exclude={"job_id", "timings", "graph"})
    out["simulation"] = simulation(out["simulation"])
    for summary in out["llm_outputs"].values():
        summary.pop("elapsed_s", None)
        summary.pop("timings", None)
    if out.get("report"):
        out["report"].pop("job_id", None)
    return out


async def test_simulate_run_and_search_agree_across_interfaces(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path)
    sim_args = {"circuit": CIRCUIT, "shots": 300, "seed": 11}

    from_cli = cli(tmp_path, "simulate", CIRCUIT, "--shots", "300", "--seed", "11")
    run_cli = cli(tmp_path, "run", TASK, "--seed", "5")
    with serve(tmp_path) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=300) as rest:
            from_rest = (await rest.post("/v1/simulate", json=sim_args)).json()
            submitted = await rest.post("/v1/jobs", json={"task": TASK, "seed": 5})
            assert submitted.status_code in (200, 201, 202), submitted.text
            job_id = submitted.json()["job_id"]
            waited = await rest.get(
                f"/v1/jobs/{job_id}/result", params={"wait": "true", "timeout": 240}
            )
            run_rest = waited.json()
            server = create_server(settings)
            try:
                async with Client(server) as client:
                    called = await client.call_tool(
                        "simulate_circuit", {**sim_args, "histogram": False}
                    )
                    from_mcp = called.structured_content
                    ran = await client.call_tool("orchestrate", {"task": TASK, "seed": 5})
                    run_mcp = ran.structured_content
                    # Every job is recorded: the three searches see the same graph.
                    found = await client.call_tool("search_graph", {"query": QUERY})
                    search_mcp = found.structured_content
            finally:
                server.close()
            search_rest = (await rest.get("/v1/graph/search", params={"q": QUERY})).json()
    search_cli = cli(tmp_path, "graph", "search", QUERY)

    assert from_mcp is not None and run_mcp is not None and search_mcp is not None
    assert simulation(from_cli) == simulation(from_rest) == simulation(from_mcp)
    assert from_cli["counts"] == {
        "000": from_cli["counts"]["000"],
        "111": 300 - from_cli["counts"]["000"],
    }

    assert run_cli["status"] == run_rest["status"] == run_mcp["status"] == "succeeded"
    assert job(run_cli) == job(run_rest) == job(run_mcp)

    searches = [SearchResult.model_validate(s) for s in (search_cli, search_rest, search_mcp)]
    assert searches[0] == searches[1] == searches[2]
    assert searches[0].hits and len({h.node.id for h in searches[0].hits}) == len(searches[0].hits)
