"""The four agents (planner, extraction, validation, synthesis): resident, batched, placed."""

from __future__ import annotations

from dunes.agents.runtime import AgentRuntime
from dunes.agents.schemas import (
    Check,
    Extraction,
    FamilyScore,
    Outcome,
    PlanResult,
    Report,
    RoleOutput,
    ValidationReport,
)

__all__ = [
    "AgentRuntime",
    "Check",
    "Extraction",
    "FamilyScore",
    "Outcome",
    "PlanResult",
    "Report",
    "RoleOutput",
    "ValidationReport",
]
