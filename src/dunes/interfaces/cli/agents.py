"""``dunes agents plan|run|placement``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dunes.agents import AgentRuntime, PlanResult, Report, ValidationVerdict
from dunes.agents.models import resolve_model
from dunes.config import get_settings
from dunes.constants import ROLES
from dunes.errors import DunesError
from dunes.interfaces.cli.common import console, err_console, print_json
from dunes.quantum.memory import format_bytes

app = typer.Typer(help="The four agents: plan a circuit, run one role, show placement.")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _print_plan(plan: PlanResult) -> None:
    if plan.circuit is None:
        err_console.print(f"no plan: {plan.reason}", highlight=False, soft_wrap=True)
        return
    console.print(f"family:     {plan.family or '(given circuit)'}", highlight=False)
    console.print(f"qubits:     {plan.num_qubits}", highlight=False)
    console.print(
        f"confidence: {plan.confidence:.2f}"
        + (
            f" (runner-up {plan.runner_up} {plan.runner_up_confidence:.2f})"
            if plan.runner_up
            else ""
        ),
        highlight=False,
    )
    if plan.params:
        console.print(f"params:     {plan.params}", highlight=False)
    if plan.defaults_used:
        console.print(f"defaults:   {plan.defaults_used}", highlight=False)
    if plan.extraction and plan.extraction.missing:
        console.print(f"not found:  {', '.join(plan.extraction.missing)}", highlight=False)
    console.print(f"reason:     {plan.reason}", highlight=False, soft_wrap=True)
    console.print(f"circuit:    {plan.circuit_seed}", highlight=False, soft_wrap=True)


@app.command()
def plan(
    text: Annotated[str, typer.Argument(help="The task in plain words, or a circuit.")],
    as_json: JsonFlag = False,
) -> None:
    """Plan a circuit for a task (planner + extraction); exit 2 when no family fits."""
    result = AgentRuntime(get_settings()).plan(text)
    if as_json:
        print_json(result.public())
    else:
        _print_plan(result)
    if result.circuit is None:
        raise typer.Exit(2)


@app.command()
def run(
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}.")],
    text: Annotated[str, typer.Argument(help="The task in plain words, or a circuit.")],
    as_json: JsonFlag = False,
) -> None:
    """Run one role on a task (the roles before it run as needed)."""
    output = AgentRuntime(get_settings()).run_role(role, text)
    if as_json:
        print_json(output.public() if isinstance(output, PlanResult) else output)
        if isinstance(output, PlanResult) and output.circuit is None:
            raise typer.Exit(2)
        return
    console.print(f"{output.role} on {output.device} ({output.model})", highlight=False)
    if isinstance(output, PlanResult):
        _print_plan(output)
        if output.circuit is None:
            raise typer.Exit(2)
    elif isinstance(output, ValidationVerdict):
        for check in output.checks:
            mark = {True: "ok", False: "FAIL", None: "--"}[check.ok]
            console.print(f"  {mark:4} {check.name}: {check.detail}", highlight=False)
        console.print(output.verdict, highlight=False)
    elif isinstance(output, Report):
        console.print(output.text, highlight=False)
    else:
        data = output.model_dump(mode="json", exclude={"embedding", "role", "device", "model"})
        for key, value in data.items():
            console.print(f"  {key}: {value}", highlight=False)


@app.command()
def placement(as_json: JsonFlag = False) -> None:
    """Show which device and model each role uses."""
    settings = get_settings()
    runtime = AgentRuntime(settings)
    plan = runtime.placement()
    rows = []
    for role in ROLES:
        device = plan[role]
        try:
            ref = resolve_model(role, settings.agents)
            model, path, error = ref.name, str(ref.path), None
        except DunesError as exc:
            model, path, error = None, None, str(exc)
        rows.append(
            {
                "role": role,
                "device": device.id,
                "device_name": device.name,
                "memory_free": device.memory_free,
                "model": model,
                "model_path": path,
                "error": error,
                "pinned": role in settings.agents.placement,
            }
        )
    if as_json:
        print_json({"source": runtime.inventory.source, "roles": rows})
        return
    table = Table("role", "device", "free memory", "model", "pinned")
    for row in rows:
        table.add_row(
            row["role"],
            f"{row['device']} ({row['device_name']})",
            format_bytes(row["memory_free"]),
            row["model"] or f"[red]{row['error']}[/red]",
            "yes" if row["pinned"] else "",
        )
    console.print(table)
