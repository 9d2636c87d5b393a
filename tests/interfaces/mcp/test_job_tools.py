"""orchestrate, get_job, cancel_job, list_jobs, search_graph, lineage, the job resources and
explain_result, against a real Orchestrator with a local worker process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp.client.client import Client

from dunes.config import get_settings
from dunes.interfaces.mcp import DunesServer, create_server
from dunes.orchestration import Orchestrator

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TASK = "Prepare a 3-qubit GHZ state and sample it 200 times"


@pytest.fixture(scope="module")
def orchestrator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orchestrator]:
    data_dir: Path = tmp_path_factory.mktemp("mcp-jobs")
    settings = get_settings(data_dir=data_dir)
    with Orchestrator(settings, executor="local") as orch:
        yield orch


@pytest.fixture
def job_server(orchestrator: Orchestrator) -> Iterator[DunesServer]:
    server = create_server(orchestrator.settings, orchestrator=orchestrator)
    yield server
    server.close()


async def test_orchestrate_reports_progress_in_order_and_the_job_is_inspectable(
    job_server: DunesServer, orchestrator: Orchestrator
) -> None:
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async with Client(job_server) as client:
        result = await client.call_tool(
            "orchestrate", {"task": TASK, "seed": 5}, progress_callback=on_progress
        )
        assert not result.is_error, result.content
        out = result.structured_content
        assert out is not None and out["status"] == "succeeded"
        job_id = out["job_id"]
        assert out["circuit"] == "h(0); cx(0,1); cx(1,2)"
        assert out["report"]["family"] == "ghz"
        assert set(out["simulation"]["counts"]) == {"000", "111"}
        assert set(out["llm_outputs"]) == {"planner", "extraction", "validation", "synthesis"}
        assert "embedding" not in json.dumps(out)

        values = [v for v, _ in progress]
        assert values == sorted(values) and len(set(values)) == len(values)
        assert values[0] == 0.0 and values[-1] == 1.0
        messages = [m or "" for _, m in progress]
        assert job_id in messages[0]
        # Every event the orchestrator recorded arrives, in order (it folds steps under 100 ms).
        events = list(orchestrator.events(job_id))
        assert len(progress) >= 3
        assert any(m.startswith("plan") for m in messages)
        assert [m.split(":")[0] for m in messages[1:]] == [e.step for e in events]

        got = await client.call_tool("get_job", {"job_id": job_id})
        assert got.structured_content is not None
        assert got.structured_content == out

        listed = await client.call_tool("list_jobs", {"status": "succeeded"})
        assert listed.structured_content is not None
        assert job_id in [j["job_id"] for j in listed.structured_content["jobs"]]

        resource = await client.read_resource(f"dunes://jobs/{job_id}")
        assert json.loads(resource.contents[0].text)["job_id"] == job_id  # type: ignore[union-attr]

        state = await client.read_resource(f"dunes://jobs/{job_id}/statevector")
        data = json.loads(state.contents[0].text)  # type: ignore[union-attr]
        assert data["num_qubits"] == 3 and len(data["statevector"]) == 8
        assert data["statevector"][0][0] == pytest.approx(2**-0.5)
        assert data["statevector"][7][0] == pytest.approx(2**-0.5)

        node = await client.read_resource(f"dunes://graph/{job_id}")
        graph = json.loads(node.contents[0].text)  # type: ignore[union-attr]
        assert graph["root"] == job_id
        assert any(e["relation"] == "used" and e["src"] == job_id for e in graph["edges"])

        lineage = await client.call_tool("lineage", {"node_id": job_id, "depth": 2})
        assert lineage.structured_content is not None
        kinds = {n["kind"] for n in lineage.structured_content["nodes"]}
        assert {"job", "task"} <= kinds

        search = await client.call_tool(
            "search_graph", {"query": "GHZ entangled state", "top_k": 3}
        )
        assert not search.is_error, search.content
        assert search.structured_content is not None
        hits = search.structured_content["hits"]
        assert job_id in [h["node"]["data"].get("job_id") for h in hits]

        prompt = await client.get_prompt("explain_result", {"job_id": job_id})
        text = prompt.messages[0].content.text  # type: ignore[union-attr]
        assert job_id in text and "ghz" in text


async def test_wait_false_returns_a_job_id_and_get_job_waits(job_server: DunesServer) -> None:
    async with Client(job_server) as client:
        started = await client.call_tool(
            "orchestrate", {"task": "a Bell state on 2 qubits", "wait": False}
        )
        assert started.structured_content is not None
        job_id = started.structured_content["job_id"]
        assert started.structured_content["status"] in {"queued", "running"}

        seen: list[float] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            seen.append(value)

        finished = await client.call_tool(
            "get_job", {"job_id": job_id, "wait": True}, progress_callback=on_progress
        )
        assert finished.structured_content is not None
        assert finished.structured_content["status"] == "succeeded"
        assert seen == sorted(seen) and seen[-1] == 1.0


async def test_cancelling_the_call_cancels_the_job(
    job_server: DunesServer, orchestrator: Orchestrator
) -> None:
    job_ids: list[str] = []
    submitted = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        if message and message.startswith("job "):
            job_ids.append(message.split()[1])
            submitted.set()

    async with Client(job_server) as client, anyio.create_task_group() as tg:

        async def call() -> None:
            await client.call_tool(
                "orchestrate",
                {"task": "Grover search for 101 on 3 qubits"},
                progress_callback=on_progress,
            )

        tg.start_soon(call)
        with anyio.fail_after(30):
            await submitted.wait()
        tg.cancel_scope.cancel()

    with anyio.fail_after(30):
        while orchestrator.status(job_ids[0]).status != "cancelled":
            await anyio.sleep(0.05)


async def test_job_errors_are_tool_errors(job_server: DunesServer) -> None:
    async with Client(job_server) as client:
        missing = await client.call_tool("get_job", {"job_id": "nope"})
        assert missing.is_error
        assert "nope" in missing.content[0].text  # type: ignore[union-attr]
        cancel = await client.call_tool("cancel_job", {"job_id": "nope"})
        assert cancel.is_error
        bad = await client.call_tool("list_jobs", {"status": "sleeping"})
        assert bad.is_error
        lineage = await client.call_tool("lineage", {"node_id": "0" * 40})
        assert lineage.is_error
        with pytest.raises(Exception, match="nope"):
            await client.read_resource("dunes://jobs/nope")
        after = await client.call_tool("list_jobs", {})
        assert not after.is_error


async def test_a_failed_job_is_a_tool_error_naming_the_step(job_server: DunesServer) -> None:
    async with Client(job_server) as client:
        result = await client.call_tool("orchestrate", {"task": "bake a lemon cake for twelve"})
        assert result.is_error
        message = result.content[0].text  # type: ignore[union-attr]
        assert "failed at step" in message
        job_id = message.split("job ", 1)[1].split()[0]
        got = await client.call_tool("get_job", {"job_id": job_id})
        assert not got.is_error
        assert got.structured_content is not None
        assert got.structured_content["status"] == "failed"


async def test_cancel_job_cancels_a_submitted_job(job_server: DunesServer) -> None:
    async with Client(job_server) as client:
        started = await client.call_tool(
            "orchestrate", {"task": "a 4-qubit W state", "wait": False}
        )
        assert started.structured_content is not None
        job_id = started.structured_content["job_id"]
        cancelled = await client.call_tool("cancel_job", {"job_id": job_id})
        assert not cancelled.is_error, cancelled.content
        assert cancelled.structured_content is not None
        assert cancelled.structured_content["status"] == "cancelled"
        again = await client.call_tool("cancel_job", {"job_id": job_id})
        assert again.structured_content is not None
        assert again.structured_content["status"] == "cancelled"
        got = await client.call_tool("get_job", {"job_id": job_id, "wait": True})
        assert got.structured_content is not None
        assert got.structured_content["status"] == "cancelled"


async def test_cancelling_a_get_job_wait_leaves_the_job_running(
    job_server: DunesServer, orchestrator: Orchestrator
) -> None:
    waiting = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        waiting.set()

    async with Client(job_server) as client:
        started = await client.call_tool(
            "orchestrate", {"task": "a 3-qubit GHZ state", "wait": False}
        )
        assert started.structured_content is not None
        job_id = started.structured_content["job_id"]
        async with anyio.create_task_group() as tg:

            async def wait_for_it() -> None:
                await client.call_tool(
                    "get_job", {"job_id": job_id, "wait": True}, progress_callback=on_progress
                )

            tg.start_soon(wait_for_it)
            with anyio.fail_after(30):
                await waiting.wait()
            tg.cancel_scope.cancel()
    result = await anyio.to_thread.run_sync(lambda: orchestrator.result(job_id, timeout=120))
    assert result.status == "succeeded"
