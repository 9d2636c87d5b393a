"""``dunes sweep``: one circuit with symbolic parameters over many values, simulated at once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dunes.interfaces.cli.common import JsonFlag, console, err_console, interruptible, print_json


def sweep(
    circuit: Annotated[
        str,
        typer.Argument(
            help="Circuit text or file with named parameters: 'ry(theta, 0); rz(2*theta + phi, "
            '1)\', OpenQASM 3 with \'input float[64] theta;\', or JSON with "params": ["theta"].'
        ),
    ],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="name=START:STOP:COUNT (theta=0:2*pi:101) or name=v1,v2; repeat for a grid.",
        ),
    ] = None,
    bindings: Annotated[
        Path | None,
        typer.Option(help="Bindings file: .json (name -> list), .csv (header), .npy (--names)."),
    ] = None,
    names: Annotated[
        str | None, typer.Option(help="Column names of a .npy bindings file, comma-separated.")
    ] = None,
    observable: Annotated[
        list[str] | None,
        typer.Option("--observable", "-o", help="Pauli string, e.g. ZZII or 'Z0 Z3'; repeatable."),
    ] = None,
    probabilities: Annotated[
        bool, typer.Option("--probabilities", help="Report the probabilities per binding.")
    ] = False,
    shots: Annotated[int, typer.Option(min=0, help="Counts per binding, sampled.")] = 0,
    seed: Annotated[int | None, typer.Option(help="Seed for the sampled counts.")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="PNG: a line for one parameter, a heatmap for two.")
    ] = None,
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="Record the sweep in the BELUGA graph.")
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Simulate a parametric circuit for every binding in one batched run."""
    from dunes.config import get_settings
    from dunes.services import sweep as sweep_service
    from dunes.services.simulation import read_circuit_source

    settings = get_settings()
    values = sweep_service.local_bindings(grid=param or [], file=bindings, names=names)
    source = read_circuit_source(circuit).text
    count = sweep_service.binding_count(values)

    def work() -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress(
            "sweep",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=as_json,
        ) as bar:
            task = bar.add_task("sweep", total=count)
            result = sweep_service.run_sweep(
                settings=settings,
                circuit=source,
                bindings=values,
                observables=observable or (),
                probabilities=probabilities,
                shots=shots,
                seed=seed,
                record=record,
                progress=lambda done, total: bar.update(task, completed=done),
            )
        if plot is not None:
            from dunes.quantum.plots import sweep_png

            sweep_png(result.parameters, result.expectation_values, plot)
        if as_json:
            print_json(result)
            return
        _render(result)
        if plot is not None:
            console.print(f"plot: {plot}", highlight=False)

    interruptible(work, what=f"sweeping {count} binding(s)")


def _render(result: object) -> None:
    from rich.table import Table

    from dunes.services.sweep import SweepResult

    assert isinstance(result, SweepResult)
    console.print(
        f"[bold]{result.bindings} binding(s)[/] of a {result.num_qubits}-qubit circuit in "
        f"{result.elapsed_s:.3f} s ({result.circuits_per_s:,.0f} circuits/s, {result.engine})",
        highlight=False,
    )
    names = list(result.parameters)
    table = Table(*names, *(f"<{o}>" for o in result.expectation_values), title="first rows")
    for i in range(min(result.bindings, 12)):
        row = [f"{result.parameters[n][i]:.6g}" for n in names]
        row += [f"{v[i]:+.6f}" for v in result.expectation_values.values()]
        table.add_row(*row)
    if result.bindings > 12:
        table.add_row(*(["…"] * (len(names) + len(result.expectation_values))))
    console.print(table)
    if result.recorded:
        console.print(
            f"recorded: dunes graph show {result.recorded['sweep'][:12]}", highlight=False
        )
