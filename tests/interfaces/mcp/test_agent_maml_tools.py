"""plan_circuit, run_agent, validate_maml, run_maml, the MAML resources and design_circuit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp.client.client import Client
from mcp.shared.exceptions import MCPError

from dunes.interfaces.mcp import DunesServer
from tests.maml.conftest import doc

UNSIGNED_SCRIPT = """---
schema_version: 1.0
id: urn:dunes:test:script
title: Script and circuit
permissions:
  execute: true
---
# Script and circuit

```python {name=hello}
print("hello from a script")
```

```circuit {name=bell}
h(0); cx(0,1)
```
"""

FORBIDDEN = UNSIGNED_SCRIPT.replace("execute: true", "execute: false")


async def test_plan_circuit_and_run_agent(server: DunesServer) -> None:
    async with Client(server) as client:
        plan = await client.call_tool("plan_circuit", {"task": "Design a 4-qubit GHZ state"})
        assert not plan.is_error, plan.content
        out = plan.structured_content
        assert out is not None
        assert out["family"] == "ghz" and out["num_qubits"] == 4
        assert out["circuit"] == "h(0); cx(0,1); cx(1,2); cx(2,3)"
        assert out["device"] == "cpu" and out["model"]

        extraction = await client.call_tool(
            "run_agent", {"role": "extraction", "text": "5 qubits, 1000 shots, angle pi/4"}
        )
        assert not extraction.is_error, extraction.content
        data = extraction.structured_content
        assert data is not None and data["role"] == "extraction"
        assert data["num_qubits"] == 5 and data["shots"] == 1000
        assert "embedding" not in json.dumps(data)

        bad_role = await client.call_tool("run_agent", {"role": "oracle", "text": "x"})
        assert bad_role.is_error
        assert "role" in bad_role.content[0].text  # type: ignore[union-attr]


async def test_validate_maml_reports_findings_not_errors(server: DunesServer) -> None:
    async with Client(server) as client:
        good = await client.call_tool("validate_maml", {"example": "beluga_multi_gpu"})
        assert good.structured_content is not None and good.structured_content["valid"] is True
        broken = await client.call_tool(
            "validate_maml", {"document": "---\nschema_version: [\n---\n# nothing\n"}
        )
        assert not broken.is_error
        assert broken.structured_content is not None
        assert broken.structured_content["valid"] is False
        assert broken.structured_content["errors"]
        neither = await client.call_tool("validate_maml", {})
        assert neither.is_error


async def test_run_maml_refuses_what_permissions_forbid(server: DunesServer) -> None:
    async with Client(server) as client:
        forbidden = await client.call_tool("run_maml", {"document": FORBIDDEN})
        assert forbidden.is_error
        assert "permissions.execute" in forbidden.content[0].text  # type: ignore[union-attr]

        unsigned = await client.call_tool("run_maml", {"document": UNSIGNED_SCRIPT})
        assert unsigned.is_error
        message = unsigned.content[0].text  # type: ignore[union-attr]
        assert "signed" in message and "bell" in message

        path = await client.call_tool("run_maml", {"document": "/etc/passwd"})
        assert path.is_error

        # A dry run checks everything, the execution policy included.
        refused = await client.call_tool("run_maml", {"document": UNSIGNED_SCRIPT, "dry_run": True})
        assert refused.is_error and "trusted key" in refused.content[0].text  # type: ignore[union-attr]
        planned = await client.call_tool(
            "run_maml", {"document": UNSIGNED_SCRIPT, "dry_run": True, "block": "bell"}
        )
        assert planned.structured_content is not None
        assert planned.structured_content["status"] == "dry_run"
        assert [b["status"] for b in planned.structured_content["blocks"]] == ["planned"]


async def test_run_maml_runs_a_circuit_block_with_progress(server: DunesServer) -> None:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with Client(server) as client:
        result = await client.call_tool(
            "run_maml",
            {"document": UNSIGNED_SCRIPT, "block": "bell"},
            progress_callback=on_progress,
        )
        assert not result.is_error, result.content
        out = result.structured_content
        assert out is not None and out["status"] == "ok"
        assert [(b["name"], b["status"]) for b in out["blocks"]] == [("bell", "ok")]
        assert out["blocks"][0]["data"] or out["blocks"][0]["stdout"]
        assert progress == sorted(progress) and progress[-1] == 1.0


async def test_maml_resources_and_design_prompt(server: DunesServer) -> None:
    async with Client(server) as client:
        listed = [str(r.uri) for r in (await client.list_resources()).resources]
        assert "dunes://maml/beluga_multi_gpu" in listed
        example = await client.read_resource("dunes://maml/multi_gpu_orchestration")
        assert example.contents[0].text.startswith("---")  # type: ignore[union-attr]
        with pytest.raises(MCPError, match="no example"):
            await client.read_resource("dunes://maml/nothing-here")

        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert {"design_circuit", "explain_result"} <= set(prompts)
        design = await client.get_prompt("design_circuit", {"goal": "teleport a qubit"})
        text = design.messages[0].content.text  # type: ignore[union-attr]
        assert "teleport a qubit" in text and "plan_circuit" in text and "ghz" in text
        gpus = json.loads((await client.read_resource("dunes://gpus")).contents[0].text)  # type: ignore[union-attr]
        assert gpus["devices"]


async def test_an_unsigned_bash_block_never_runs_over_mcp(
    server: DunesServer, tmp_path: Path
) -> None:
    marker = tmp_path / "x"
    text = doc(f"## Touch\n```bash {{name=touch}}\nid > {marker}\n```\n")
    async with Client(server) as client:
        refused = await client.call_tool("run_maml", {"document": text})
        assert refused.is_error
        assert "trusted key" in refused.content[0].text  # type: ignore[union-attr]
    assert not marker.exists()
