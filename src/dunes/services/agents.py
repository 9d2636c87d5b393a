"""The four agents: plan a task, run one role, say where each role runs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dunes.agents import PlanResult
from dunes.beluga.record import without_embeddings
from dunes.constants import ROLES
from dunes.services.context import Services


class RolePlacement(BaseModel):
    """Where one role runs and with which model."""

    model_config = ConfigDict(frozen=True)

    role: str
    device: str
    device_name: str
    memory_free: int
    model: str | None = None
    model_path: str | None = None
    error: str | None = Field(None, description="Why the role's model cannot load.")
    pinned: bool = False


class Placement(BaseModel):
    """Every role's device and model, and how the devices were found."""

    model_config = ConfigDict(frozen=True)

    source: str
    roles: list[RolePlacement]


def family_catalog() -> dict[str, str]:
    """The circuit families the planner knows: name -> title."""
    from dunes.quantum import families

    return {name: families.get(name).title for name in families.names()}


def placement(*, services: Services) -> Placement:
    from dunes.agents.models import resolve_model
    from dunes.errors import DunesError

    runtime = services.agents
    where = runtime.placement()
    rows = []
    for role in ROLES:
        device = where[role]
        model = path = error = None
        try:
            ref = resolve_model(role, services.settings.agents)
            model, path = ref.name, str(ref.path)
        except DunesError as exc:
            error = str(exc)
        rows.append(
            RolePlacement(
                role=role,
                device=device.id,
                device_name=device.name,
                memory_free=device.memory_free,
                model=model,
                model_path=path,
                error=error,
                pinned=role in services.settings.agents.placement,
            )
        )
    return Placement(source=runtime.inventory.source, roles=rows)


def plan_task(*, services: Services, task: str) -> PlanResult:
    """The planner and extraction on ``task``: a circuit, or a refusal (``circuit`` is None)."""
    return services.agents.plan(task)


def plan_public(plan: PlanResult, *, embedding: bool = False) -> dict[str, Any]:
    """A plan as every interface prints it: the circuit in seed notation, no embedding."""
    data = plan.public()
    return data if embedding else without_embeddings(data)


def run_role(
    *, services: Services, role: str, text: str, embedding: bool = False
) -> dict[str, Any]:
    """One role's output on ``text`` (the roles before it run as needed), as JSON."""
    output = services.agents.run_role(role, text)
    if isinstance(output, PlanResult):
        return plan_public(output, embedding=embedding)
    data = output.model_dump(mode="json")
    return data if embedding else without_embeddings(data)
