"""What the MCP tools share: the services, and running blocking service calls off the loop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp_types import ToolAnnotations

from dunes.errors import DunesError
from dunes.services import Services
from dunes.services.threads import Progress, in_thread, in_thread_cancellable

__all__ = ["Services", "run_resource", "run_tool"]

P = ParamSpec("P")
T = TypeVar("T")

#: Amplitudes and outcomes an assistant gets by default (a whole state is noise to a model).
DEFAULT_TOP = 16

# What a tool does, as the hints MCP clients read: looks only; records a run in the graph (new
# nodes each call, nothing lost); the same, where a second call with the same input adds nothing.
READS = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
RECORDS = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
RECORDS_ONCE = RECORDS.model_copy(update={"idempotent_hint": True})


async def run_tool(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run blocking service code in a worker thread; a DunesError becomes a tool error."""
    try:
        return await in_thread(fn, *args, **kwargs)
    except DunesError as exc:
        raise ToolError(str(exc)) from exc


async def run_resource(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run blocking service code for a resource; a DunesError becomes a resource error."""
    try:
        return await in_thread(fn, *args, **kwargs)
    except DunesError as exc:
        missing = exc.kind == "not_found"
        raise (ResourceNotFoundError if missing else ResourceError)(str(exc)) from exc


async def run_cancellable(
    work: Callable[[threading.Event, Progress], T], ctx: Context[Any, Any, Any]
) -> T:
    """``work(cancel, progress)`` on the compute threads, its progress reported to the client;
    cancelling the call sets ``cancel``; a DunesError becomes a tool error."""

    async def report(fraction: float, message: str) -> None:
        await ctx.report_progress(fraction, 1.0, message)

    try:
        return await in_thread_cancellable(work, report)
    except DunesError as exc:
        raise ToolError(str(exc)) from exc
