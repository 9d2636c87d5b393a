"""simulate_circuit, list_gpus and dunes://gpus through an in-memory MCP client."""

from __future__ import annotations

import base64
import json

import pytest
from mcp.client.client import Client
from mcp_types import ImageContent, TextContent

from dunes.interfaces.mcp import DunesServer

GHZ = "h(0); cx(0,1); cx(1,2)"


async def test_tools_are_listed_with_schemas_and_honest_annotations(server: DunesServer) -> None:
    async with Client(server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        simulate = tools["simulate_circuit"]
        assert simulate.output_schema is not None
        assert {"counts", "top_amplitudes", "probabilities"} <= set(
            simulate.output_schema["properties"]
        )
        assert simulate.input_schema["required"] == ["circuit"]
        assert simulate.annotations is not None
        assert simulate.annotations.destructive_hint is False
        assert simulate.annotations.open_world_hint is False
        gpus = tools["list_gpus"]
        assert gpus.annotations is not None and gpus.annotations.read_only_hint is True
        assert gpus.output_schema is not None


async def test_simulate_statevector_gives_amplitudes_and_histogram(server: DunesServer) -> None:
    async with Client(server) as client:
        result = await client.call_tool("simulate_circuit", {"circuit": GHZ})
        assert not result.is_error
        out = result.structured_content
        assert out is not None
        assert out["num_qubits"] == 3
        assert out["circuit"] == GHZ
        assert out["counts"] is None
        assert out["probabilities"] == pytest.approx({"000": 0.5, "111": 0.5})
        # 8 amplitudes, within top: the state comes whole.
        assert out["statevector"][0][0] == pytest.approx(2**-0.5)
        assert out["statevector"][7][0] == pytest.approx(2**-0.5)
        cut = await client.call_tool("simulate_circuit", {"circuit": GHZ, "top": 2})
        assert cut.structured_content is not None
        assert cut.structured_content["statevector"] is None
        assert cut.structured_content["statevector_truncated"] is True
        top = cut.structured_content["top_amplitudes"]
        assert [a["bitstring"] for a in top] == ["000", "111"]
        assert top[0]["amplitude"][0] == pytest.approx(2**-0.5)
        images = [c for c in result.content if isinstance(c, ImageContent)]
        assert len(images) == 1 and images[0].mime_type == "image/png"
        assert base64.b64decode(images[0].data).startswith(b"\x89PNG\r\n\x1a\n")
        text = next(c for c in result.content if isinstance(c, TextContent))
        assert json.loads(text.text)["num_qubits"] == 3


async def test_simulate_with_shots_and_seed_samples_reproducibly(server: DunesServer) -> None:
    async with Client(server) as client:
        args = {"circuit": GHZ, "shots": 400, "seed": 11, "histogram": False}
        first = await client.call_tool("simulate_circuit", args)
        second = await client.call_tool("simulate_circuit", args)
        assert first.structured_content is not None and second.structured_content is not None
        counts = first.structured_content["counts"]
        assert set(counts) == {"000", "111"} and sum(counts.values()) == 400
        assert counts == second.structured_content["counts"]
        assert not any(isinstance(c, ImageContent) for c in first.content)


async def test_simulate_accepts_openqasm_and_observables(server: DunesServer) -> None:
    async with Client(server) as client:
        qasm = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\ncx q[0],q[1];\n'
        result = await client.call_tool(
            "simulate_circuit", {"circuit": qasm, "observables": ["ZZ"], "histogram": False}
        )
        assert not result.is_error, result.content
        assert result.structured_content is not None
        assert result.structured_content["expectation_values"]["ZZ"] == pytest.approx(1.0)


async def test_bad_circuit_is_a_tool_error_naming_the_gate(server: DunesServer) -> None:
    async with Client(server) as client:
        result = await client.call_tool("simulate_circuit", {"circuit": "h(0); frobnicate(1)"})
        assert result.is_error
        message = result.content[0].text  # type: ignore[union-attr]
        assert "frobnicate" in message and "line 1" in message


async def test_malformed_argument_is_a_tool_error_and_the_next_call_works(
    server: DunesServer,
) -> None:
    async with Client(server) as client:
        bad = await client.call_tool("simulate_circuit", {"circuit": GHZ, "shots": "many"})
        assert bad.is_error
        assert "shots" in bad.content[0].text  # type: ignore[union-attr]
        missing = await client.call_tool("simulate_circuit", {})
        assert missing.is_error
        assert "circuit" in missing.content[0].text  # type: ignore[union-attr]
        good = await client.call_tool("simulate_circuit", {"circuit": "x(0)", "histogram": False})
        assert not good.is_error
        assert good.structured_content is not None
        assert good.structured_content["probabilities"] == {"1": pytest.approx(1.0)}


async def test_limit_errors_are_tool_errors(server: DunesServer) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "simulate_circuit", {"circuit": "h(70000)", "histogram": False}
        )
        assert result.is_error
        assert "qubit" in result.content[0].text.lower()  # type: ignore[union-attr]


async def test_list_gpus_and_the_gpus_resource_agree(server: DunesServer) -> None:
    async with Client(server) as client:
        result = await client.call_tool("list_gpus", {})
        assert not result.is_error
        out = result.structured_content
        assert out is not None
        assert "cpu" in [d["id"] for d in out["devices"]]
        assert out["aer"]["distribution"].startswith("qiskit-aer")
        resource = await client.read_resource("dunes://gpus")
        content = resource.contents[0]
        assert content.mime_type == "application/json"
        data = json.loads(content.text)  # type: ignore[union-attr]
        assert [d["id"] for d in data["devices"]] == [d["id"] for d in out["devices"]]
