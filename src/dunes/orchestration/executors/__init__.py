"""Executors: ``local`` (worker processes on this machine) and ``celery`` (Redis, many hosts)."""

from __future__ import annotations

from dunes.orchestration.executors.base import Executor

__all__ = ["Executor"]
