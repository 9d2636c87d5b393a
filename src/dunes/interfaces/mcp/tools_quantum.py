"""MCP tools: simulate_circuit, list_gpus."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ImageContent, TextContent, ToolAnnotations
from pydantic import Field

from dunes.constants import DEVICE_FORMS, MethodName
from dunes.interfaces.mcp.deps import DEFAULT_TOP, Services, run_tool
from dunes.interfaces.mcp.tools_maml import run_cancellable
from dunes.quantum.result import SimulationResult
from dunes.services import sweep as sweep_service
from dunes.services.devices import DeviceReport, describe_devices
from dunes.services.public import public_simulation
from dunes.services.simulation import (
    histogram_png,
    simulate_circuit,
    simulation_options,
)

# pyplot keeps global state; one figure at a time across worker threads.
_PLOT_LOCK = threading.Lock()


def histogram_bytes(result: SimulationResult) -> bytes | None:
    """The histogram PNG of a result, or None when there is nothing to plot."""
    if not result.counts and not result.probabilities:
        return None
    with _PLOT_LOCK:
        return histogram_png(result)


def register(server: MCPServer, services: Services) -> None:
    """Add the quantum tools (simulate_circuit, list_gpus) to ``server``."""

    @server.tool(
        name="simulate_circuit",
        title="Simulate a quantum circuit",
        annotations=ToolAnnotations(
            read_only_hint=False,  # the run is recorded in the provenance graph
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=False,
        ),
    )
    async def simulate_tool(
        circuit: Annotated[
            str,
            Field(
                description="Seed notation ('h(0); cx(0,1)'), OpenQASM 2/3, or a JSON gate list.",
                min_length=1,
            ),
        ],
        shots: Annotated[
            int | None,
            Field(ge=0, description="Samples to draw; 0: the state only (default: the server's)."),
        ] = None,
        seed: Annotated[int | None, Field(ge=0, description="Seed for sampling.")] = None,
        method: MethodName = "auto",
        device: Annotated[
            str | None, Field(max_length=32, description=f"{DEVICE_FORMS} (default: the server's).")
        ] = None,
        observables: Annotated[
            tuple[str, ...], Field(description="Pauli strings such as 'ZZI' or 'Z0 Z2'.")
        ] = (),
        num_qubits: Annotated[
            int | None, Field(ge=1, description="Qubits (default: inferred).")
        ] = None,
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
            options = simulation_options(
                settings=services.settings,
                shots=shots,
                seed=seed,
                method=method,
                device=device,
                observables=observables,
            )
            result = simulate_circuit(
                settings=services.settings,
                circuit=circuit,
                options=options,
                num_qubits=num_qubits,
                record=record,
                origin="network",
            ).result
            png = histogram_bytes(result) if histogram else None
            return public_simulation(result, origin="network", top=top), png

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
    async def list_gpus() -> DeviceReport:
        """The devices this server can use (GPUs with free memory, the CPU) and the Aer build."""
        return await run_tool(describe_devices)


def register_sweep(server: MCPServer, services: Services) -> None:
    """Add ``sweep_circuit``: a parametric circuit over many bindings, with progress."""

    @server.tool(
        title="Sweep a parametric circuit",
        annotations=ToolAnnotations(
            read_only_hint=False,  # recorded in the provenance graph
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=False,
        ),
    )
    async def sweep_circuit(
        circuit: Annotated[
            str,
            Field(
                min_length=1,
                description="A circuit with named parameters: 'ry(theta, 0); rz(2*theta + phi, "
                "1)', OpenQASM 3 with 'input float[64] theta;', or JSON gates.",
            ),
        ],
        ctx: Context,
        grid: Annotated[
            list[str] | None,
            Field(max_length=8, description="'theta=0:2*pi:101' or 'phi=0,0.5,1'; a grid."),
        ] = None,
        bindings: Annotated[
            dict[str, list[float]] | None,
            Field(description="Parameter -> values, one per binding (instead of grid)."),
        ] = None,
        observables: Annotated[
            list[str], Field(max_length=64, description="Pauli strings: 'ZZ', 'Z0 X2'.")
        ] = [],  # noqa: B006 - the SDK reads defaults from the signature; never mutated
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
