"""Jobs and their execution: the Orchestrator, the pipeline steps and the executors.

``Orchestrator`` loads on first use: reading a job's result needs only ``jobs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dunes.orchestration.jobs import Job, JobEvent, JobRequest, JobResult

if TYPE_CHECKING:
    from dunes.orchestration.service import Orchestrator

__all__ = ["Job", "JobEvent", "JobRequest", "JobResult", "Orchestrator"]


def __getattr__(name: str) -> Any:
    if name == "Orchestrator":
        from dunes.orchestration.service import Orchestrator

        return Orchestrator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
