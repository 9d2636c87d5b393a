"""MCP tools: parse the arguments, call the service layer, render structured output."""

from __future__ import annotations

import base64
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, ImageContent, TextContent, ToolAnnotations
from pydantic import Field

from dunes.devices import discover
from dunes.interfaces.mcp.deps import Services, run_tool
from dunes.interfaces.mcp.schemas import GpusOut, SimulationOut
from dunes.quantum import SimulationOptions
from dunes.quantum.backend import aer_info
from dunes.quantum.result import SimulationResult
from dunes.services.simulation import simulate_circuit as simulate_service
from dunes.validation import parse_model

# pyplot keeps global state; one figure at a time across worker threads.
_PLOT_LOCK = threading.Lock()


def histogram_bytes(result: SimulationResult) -> bytes | None:
    """The histogram PNG of a result, or None when there is nothing to plot."""
    if not result.counts and not result.probabilities:
        return None
    from dunes.quantum.plots import histogram_png

    with _PLOT_LOCK, tempfile.TemporaryDirectory(prefix="dunes-mcp-") as tmp:
        path = histogram_png(result, Path(tmp) / "histogram.png")
        return path.read_bytes()


def register(server: MCPServer, services: Services) -> None:
    """Add the quantum tools (simulate_circuit, list_gpus) to ``server``."""

    @server.tool(
        title="Simulate a quantum circuit",
        annotations=ToolAnnotations(
            read_only_hint=False,  # the run is recorded in the provenance graph
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=False,
        ),
    )
    async def simulate_circuit(
        circuit: Annotated[
            str,
            Field(
                description="Seed notation ('h(0); cx(0,1)'), OpenQASM 2/3, or a JSON gate list.",
                min_length=1,
            ),
        ],
        shots: Annotated[int, Field(ge=0, description="Samples to draw; 0: the state only.")] = 0,
        seed: Annotated[int | None, Field(ge=0, description="Seed for sampling.")] = None,
        method: Literal[
            "auto", "statevector", "density_matrix", "stabilizer", "matrix_product_state"
        ] = "auto",
        device: Literal["auto", "cpu", "gpu"] = "auto",
        observables: Annotated[
            tuple[str, ...], Field(description="Pauli strings such as 'ZZI' or 'Z0 Z2'.")
        ] = (),
        num_qubits: Annotated[
            int | None, Field(ge=1, description="Qubits (default: inferred).")
        ] = None,
        top: Annotated[int, Field(ge=1, le=1024, description="Amplitudes to return.")] = 16,
        histogram: Annotated[bool, Field(description="Attach the histogram PNG.")] = True,
        record: Annotated[
            bool, Field(description="Record the run in the provenance graph.")
        ] = True,
    ) -> Annotated[CallToolResult, SimulationOut]:
        """Simulate a circuit with Qiskit Aer on the best device.

        Returns counts (when shots > 0), the most likely outcomes and the largest amplitudes,
        and the histogram as a PNG image.
        """

        def work() -> tuple[SimulationOut, bytes | None]:
            options = parse_model(
                SimulationOptions,
                {
                    "shots": shots,
                    "seed": seed,
                    "method": method,
                    "device": device,
                    "observables": observables,
                },
            )
            result = simulate_service(
                settings=services.settings,
                circuit=circuit,
                options=options,
                num_qubits=num_qubits,
                record=record,
            ).result
            return SimulationOut.from_result(result, top=top), (
                histogram_bytes(result) if histogram else None
            )

        out, png = await run_tool(work)
        content: list[TextContent | ImageContent] = [
            TextContent(type="text", text=out.model_dump_json(exclude_none=True))
        ]
        if png is not None:
            content.append(
                ImageContent(
                    type="image", data=base64.b64encode(png).decode(), mime_type="image/png"
                )
            )
        return CallToolResult(content=content, structured_content=out.model_dump(mode="json"))

    @server.tool(
        title="List GPUs",
        annotations=ToolAnnotations(
            read_only_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def list_gpus() -> GpusOut:
        """The devices this server can use (GPUs with free memory, the CPU) and the Aer build."""
        return await run_tool(lambda: GpusOut.build(discover(), aer_info()))
