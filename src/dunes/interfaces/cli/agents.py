"""``dunes agents plan|run|placement``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from dunes.constants import Role
from dunes.interfaces.cli.common import JsonFlag, console, err_console, print_json, services

app = typer.Typer(help="The four agents: plan a circuit, run one role, show placement.")


def _print_plan(plan: dict[str, Any]) -> None:
    """A plan as ``PlanResult.public()`` gives it (here or from the runtime), for people."""
    if plan.get("circuit") is None:
        err_console.print(f"no plan: {plan.get('reason')}", highlight=False, soft_wrap=True)
        return
    console.print(f"family:     {plan.get('family') or '(given circuit)'}", highlight=False)
    console.print(f"qubits:     {plan.get('num_qubits')}", highlight=False)
    runner = plan.get("runner_up")
    console.print(
        f"confidence: {float(plan.get('confidence') or 0):.2f}"
        + (f" (runner-up {runner} {float(plan['runner_up_confidence']):.2f})" if runner else ""),
        highlight=False,
    )
    if plan.get("params"):
        console.print(f"params:     {plan['params']}", highlight=False)
    if plan.get("defaults_used"):
        console.print(f"defaults:   {plan['defaults_used']}", highlight=False)
    missing = (plan.get("extraction") or {}).get("missing")
    if missing:
        console.print(f"not found:  {', '.join(missing)}", highlight=False)
    console.print(f"reason:     {plan.get('reason')}", highlight=False, soft_wrap=True)
    console.print(f"circuit:    {plan['circuit']}", highlight=False, soft_wrap=True)


@app.command()
def plan(
    text: Annotated[str, typer.Argument(help="The task in plain words, or a circuit.")],
    as_json: JsonFlag = False,
) -> None:
    """Plan a circuit for a task (planner + extraction); exit 1 when no family fits."""
    from dunes.config import get_settings
    from dunes.services.runtime import warm_client

    warm = warm_client(get_settings(), None)
    if warm is not None:  # the warm runtime: the models are loaded there
        with warm:
            data = warm.plan(text)
    else:
        from dunes.services import agents as agent_service

        with services() as held:
            data = agent_service.plan_public(agent_service.plan_task(services=held, task=text))
    if as_json:
        print_json(data)
    else:
        _print_plan(data)
    if data.get("circuit") is None:
        raise typer.Exit(1)


@app.command()
def run(
    role: Annotated[Role, typer.Argument(help="The role to run.")],
    text: Annotated[str, typer.Argument(help="The task in plain words, or a circuit.")],
    as_json: JsonFlag = False,
) -> None:
    """Run one role on a task (the roles before it run as needed)."""
    from dunes.services import agents as agent_service

    with services() as held:
        data = agent_service.run_role(services=held, role=role, text=text)
    if as_json:
        print_json(data)
    else:
        _print_output(role, data)
    if role == "planner" and data.get("circuit") is None:
        raise typer.Exit(1)


def _print_output(role: Role, data: dict[str, Any]) -> None:
    """One role's public output (``agents.run_role``), for people."""
    console.print(f"{role} on {data.get('device')} ({data.get('model')})", highlight=False)
    if role == "planner":
        _print_plan(data)
    elif role == "validation":
        for check in data["checks"]:
            mark = {True: "ok", False: "FAIL", None: "--"}[check["ok"]]
            console.print(f"  {mark:4} {check['name']}: {check['detail']}", highlight=False)
        console.print(data["verdict"], highlight=False)
    elif role == "synthesis":
        console.print(data["text"], highlight=False)
    else:
        for key, value in data.items():
            if key not in ("role", "device", "model") and value is not None:
                console.print(f"  {key}: {value}", highlight=False)


@app.command()
def placement(as_json: JsonFlag = False) -> None:
    """Show which device and model each role uses."""
    from rich.table import Table

    from dunes.quantum.memory import format_bytes
    from dunes.services import agents as agent_service

    with services() as held:
        found = agent_service.placement(services=held)
    if as_json:
        print_json(found)
        return
    table = Table("role", "device", "free memory", "model", "pinned")
    for row in found.roles:
        table.add_row(
            row.role,
            f"{row.device} ({row.device_name})",
            format_bytes(row.memory_free),
            row.model or f"[red]{row.error}[/red]",
            "yes" if row.pinned else "",
        )
    console.print(table)
