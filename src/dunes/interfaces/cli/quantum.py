"""``dunes simulate`` and ``dunes gpus``."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dunes.constants import DEVICE_FORMS, MethodName, Precision
from dunes.interfaces.cli.common import JsonFlag, console, err_console, interruptible, print_json

if TYPE_CHECKING:
    from dunes.quantum.result import SimulationResult
    from dunes.services.simulation import SimulationRun


def simulate(
    circuit: Annotated[
        str, typer.Argument(help="Circuit text (seed, OpenQASM 2/3, JSON) or a file.")
    ],
    shots: Annotated[
        int | None,
        typer.Option(
            help="Samples to draw; 0 returns the state only (default: quantum.default_shots)."
        ),
    ] = None,
    method: Annotated[
        MethodName, typer.Option(help="Simulation method; auto: dunes picks one and says why.")
    ] = "auto",
    device: Annotated[
        str | None,
        typer.Option(help=f"{DEVICE_FORMS} (default: quantum.default_device)."),
    ] = None,
    qubits: Annotated[
        int | None, typer.Option(help="Number of qubits (default: inferred).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible sampling.")] = None,
    statevector: Annotated[
        bool | None,
        typer.Option(
            "--statevector/--no-statevector", help="Return the state (default: when shots is 0)."
        ),
    ] = None,
    observable: Annotated[
        list[str] | None,
        typer.Option("--observable", "-o", help="Pauli string, e.g. ZZII or 'Z0 Z3'; repeatable."),
    ] = None,
    precision: Annotated[Precision, typer.Option(help="Floating-point precision.")] = "double",
    plot: Annotated[Path | None, typer.Option(help="Write a histogram PNG here.")] = None,
    draw: Annotated[
        str | None,
        typer.Option(help="Write the circuit drawing to this PNG, or 'text' to print it."),
    ] = None,
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="Record the run in the BELUGA graph.")
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Simulate a circuit with Qiskit Aer on the best device."""
    from dunes.config import get_settings
    from dunes.services.simulation import read_circuit_source, simulate_request

    settings = get_settings()
    source = read_circuit_source(circuit)
    asked = {"circuit": source.text, "shots": shots, "method": method, "device": device,
             "num_qubits": qubits, "seed": seed, "statevector": statevector,
             "observables": observable or [], "precision": precision}  # fmt: skip
    what = "simulating" + (f" {source.text[:40]!r}" if len(source.text) <= 40 else " the circuit")

    def work() -> None:
        with err_console.status(what) if not as_json else contextlib.nullcontext():
            run = simulate_request(
                settings=settings, request=asked, source=source, record=record, origin="local"
            )
        show(run, plot=plot, draw=draw, as_json=as_json)

    interruptible(work, what=what)


def show(run: SimulationRun, *, plot: Path | None, draw: str | None, as_json: bool) -> None:
    """Print a simulation (and write its plots) as ``dunes simulate`` was asked to."""
    spec, result, recorded = run.spec, run.result, run.recorded
    if plot is not None:
        from dunes.quantum.plots import histogram_png

        histogram_png(result, plot)
    if draw == "text":
        from dunes.quantum.plots import circuit_text

        if not as_json:
            console.print(circuit_text(spec), highlight=False, soft_wrap=True)
    elif draw:
        from dunes.quantum.plots import circuit_png

        circuit_png(spec, Path(draw))
    if as_json:
        print_json(
            result if recorded is None else {**result.model_dump(mode="json"), "recorded": recorded}
        )
        return
    render_result(result)
    if recorded:
        state = recorded.get("quantum_state") or recorded.get("simulation", "")
        console.print(f"recorded in the graph: dunes graph lineage {state[:12]}", highlight=False)


def render_result(result: SimulationResult, *, max_rows: int = 16) -> None:
    """Show a result for people: where it ran, which state, the top outcomes, counts."""
    from rich.table import Table

    console.print(
        f"[bold]{result.num_qubits} qubits[/] on [cyan]{result.device}[/] "
        f"({result.aer_device}, {result.method}, {result.backend}) "
        f"in {result.timings.get('run_s', result.timings.get('aer_s', 0)):.3f} s"
    )
    console.print(f"circuit: {_shorten(result.circuit)}", highlight=False)
    why = [r for r in result.reasons if not r.startswith("reported:")]
    if why:
        console.print(f"[dim]why: {why[0]}[/]", highlight=False)
    state_title = {
        "before_final_measurements": "statevector before the final measurements (non-zero)",
        "only_branch": "statevector: the only branch the circuit reaches (non-zero)",
        "sampled_branch": f"statevector: one branch drawn at random, seed {result.seed} (non-zero)",
    }.get(result.state_of or "", "statevector (non-zero)")
    if result.statevector is not None:
        table = Table("basis state", "amplitude", "probability", title=state_title)
        nonzero = [
            (i, re, im)
            for i, (re, im) in enumerate(result.statevector)
            if re * re + im * im > 1e-12
        ]
        for i, re, im in nonzero[:max_rows]:
            table.add_row(
                f"|{i:0{result.num_qubits}b}>", f"{re:+.4f}{im:+.4f}j", f"{re * re + im * im:.4f}"
            )
        if len(nonzero) > max_rows:
            table.add_row("…", f"{len(nonzero) - max_rows} more", "")
        console.print(table)
    elif result.top_amplitudes:
        table = Table("basis state", "amplitude", "probability", title="top amplitudes")
        for amp in result.top_amplitudes[:max_rows]:
            re, im = amp.amplitude
            table.add_row(f"|{amp.bitstring}>", f"{re:+.4f}{im:+.4f}j", f"{amp.probability:.4f}")
        console.print(table)
    if result.artifact:
        console.print(f"full state: {result.artifact.path} (sha256 {result.artifact.sha256[:12]}…)")
    if result.probabilities and result.statevector is None and not result.top_amplitudes:
        over = "classical bits, c0 rightmost" if result.probabilities_of == "clbits" else "qubits"
        table = Table("outcome", "probability", title=f"exact distribution ({over})")
        ranked = sorted(result.probabilities.items(), key=lambda kv: (-kv[1], kv[0]))
        for key, value in ranked[:max_rows]:
            table.add_row(_shorten(key), f"{value:.6f}")
        if len(ranked) > max_rows:
            table.add_row("…", f"{len(ranked) - max_rows} more")
        console.print(table)
    if result.counts:
        title = f"counts ({result.shots} shots)"
        if not result.exact:
            title += ", in place of an exact distribution"
        table = Table("outcome", "count", title=title)
        for key, value in sorted(result.counts.items(), key=lambda kv: -kv[1])[:max_rows]:
            table.add_row(_shorten(key), str(value))
        console.print(table)
    if result.expectation_values:
        how = "" if result.exact else "  (averaged over the samples)"
        for name, value in result.expectation_values.items():
            console.print(f"<{name}> = {value:+.6f}{how}")


def _shorten(text: str, width: int = 100) -> str:
    """Long circuits and 1,000-bit outcomes fit one line: the head, the tail, and the length."""
    if len(text) <= width:
        return text
    keep = (width - 20) // 2
    return f"{text[:keep]}…{text[-keep:]} ({len(text)} chars)"


def gpus(
    as_json: JsonFlag = False,
) -> None:
    """Show the devices dunes can use and which Aer build is active."""
    from rich.table import Table

    from dunes.quantum.memory import format_bytes
    from dunes.services.devices import describe_devices

    report = describe_devices()
    if as_json:
        print_json(report)
        return
    aer = report.aer
    table = Table(
        "id",
        "name",
        "memory free / total",
        "utilisation",
        title=f"devices (found by {report.source})",
    )
    for d in report.devices:
        util = "" if d.utilization is None else f"{d.utilization:.0%}"
        table.add_row(
            d.id, d.name, f"{format_bytes(d.memory_free)} / {format_bytes(d.memory_total)}", util
        )
    console.print(table)
    visible = report.cuda_visible_devices
    console.print(
        f"CUDA_VISIBLE_DEVICES: {visible if visible is not None else '(unset: all GPUs)'}"
    )
    sees = "sees the GPUs" if aer.gpu_usable else "runs on the CPU only"
    console.print(
        f"Aer: {aer.distribution} {aer.version}, devices {', '.join(aer.devices)}: {sees}"
    )
    if report.hint:
        console.print(f"hint: {report.hint}")
