"""The four agents (planner, extraction, validation, synthesis): resident, batched, placed."""

from __future__ import annotations

from dunes.agents.runtime import AgentRuntime
from dunes.agents.schemas import (
    AgentOutput,
    Extraction,
    FamilyScore,
    Outcome,
    PlanResult,
    Report,
    ValidationCheck,
    ValidationVerdict,
)

__all__ = [
    "AgentOutput",
    "AgentRuntime",
    "Extraction",
    "FamilyScore",
    "Outcome",
    "PlanResult",
    "Report",
    "ValidationCheck",
    "ValidationVerdict",
]
