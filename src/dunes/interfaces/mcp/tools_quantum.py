"""MCP tools: simulate_circuit, list_gpus."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ImageContent, TextContent
from pydantic import Field

from dunes.constants import MethodName
from dunes.interfaces.mcp.deps import (
    DEFAULT_TOP,
    READS,
    RECORDS,
    RECORDS_ONCE,
    Services,
    run_cancellable,
    run_tool,
)
from dunes.quantum.result import SimulationResult
from dunes.services import sweep as sweep_service
from dunes.services.devices import DeviceReport, describe_devices
from dunes.services.public import public_simulation
from dunes.services.requests import (
    Bindings,
    CircuitText,
    Device,
    Grid,
    NumQubits,
    Observables,
    ParametricCircuit,
    Seed,
    Shots,
)
from dunes.services.simulation import histogram_png, simulate_request


def register(server: MCPServer, services: Services) -> None:
    """Add the quantum tools (simulate_circuit, list_gpus) to ``server``."""

    @server.tool(name="simulate_circuit", title="Simulate a quantum circuit", annotations=RECORDS)
    async def simulate_tool(
        circuit: CircuitText,
        shots: Shots = None,
        seed: Seed = None,
        method: MethodName = "auto",
        device: Device = None,
        observables: Observables = [],  # noqa: B006 - the SDK reads defaults; never mutated
        num_qubits: NumQubits = None,
        top: Annotated[
            int, Field(ge=1, le=1024, description="Amplitudes and outcomes to return.")
        ] = DEFAULT_TOP,
        histogram: Annotated[bool, Field(description="Attach the histogram PNG.")] = True,
        record: Annotated[
            bool, Field(description="Record the run in the provenance graph.")
        ] = True,
    ) -> Annotated[CallToolResult, SimulationResult]:
        """Simulate a circuit on the best device and method.

        Returns counts (when shots > 0), the most likely outcomes and the largest amplitudes
        (flags say when the lists were cut to `top`), why dunes ran it this way (`reasons`),
        and the histogram as a PNG image.
        """

        def work() -> tuple[SimulationResult, bytes | None]:
            asked = {"circuit": circuit, "shots": shots, "seed": seed, "method": method,
                     "device": device, "observables": observables, "num_qubits": num_qubits}  # fmt: skip
            run = simulate_request(
                settings=services.settings, request=asked, record=record, origin="network"
            )
            plottable = histogram and (run.result.counts or run.result.probabilities)
            png = histogram_png(run.result) if plottable else None
            return public_simulation(run.result, origin="network", top=top), png

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

    @server.tool(title="List GPUs", annotations=READS)
    async def list_gpus() -> DeviceReport:
        """The devices this server can use (GPUs with free memory, the CPU) and the Aer build."""
        return await run_tool(describe_devices)


def register_sweep(server: MCPServer, services: Services) -> None:
    """Add ``sweep_circuit``: a parametric circuit over many bindings, with progress."""

    @server.tool(title="Sweep a parametric circuit", annotations=RECORDS_ONCE)
    async def sweep_circuit(
        circuit: ParametricCircuit,
        ctx: Context,
        grid: Grid = None,
        bindings: Bindings = None,
        observables: Observables = [],  # noqa: B006 - the SDK reads defaults; never mutated
        shots: Annotated[int, Field(ge=0, le=100_000, description="Counts per binding.")] = 0,
    ) -> sweep_service.SweepResult:
        """Simulate the circuit for every binding in one batched run: expectation values per
        binding in binding order (and counts when shots > 0). Progress is reported per chunk."""

        def work(cancel: threading.Event, progress: Callable[[float, str], None]) -> Any:
            values = sweep_service.request_bindings(
                grid=grid, bindings=bindings, limit=sweep_service.MAX_REQUEST_BINDINGS
            )
            return sweep_service.run_sweep(
                settings=services.settings,
                circuit=circuit,
                bindings=values,
                observables=observables,
                shots=shots,
                progress=lambda done, total: progress(done / total, f"{done}/{total} bindings"),
            )

        result: sweep_service.SweepResult = await run_cancellable(work, ctx)
        return result
