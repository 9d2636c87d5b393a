"""Jobs and their execution: the Orchestrator, the pipeline steps and the executors."""

from __future__ import annotations

from dunes.orchestration.jobs import Job, JobEvent, JobRequest, JobResult
from dunes.orchestration.service import Orchestrator

__all__ = ["Job", "JobEvent", "JobRequest", "JobResult", "Orchestrator"]
