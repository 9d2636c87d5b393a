"""Inside a worker: one ``DeviceRuntime`` per process, pinned to one device, kept for its life.

The runtime holds what is expensive to build (the store's engine, the device inventory, the
``AgentRuntime`` with its models) and runs jobs by id: it reads the request from the store,
claims the job so a redelivered message does not run it twice, runs the pipeline, and writes the
outcome back. Whatever a job raises fails that job; the worker goes on.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from typing import TYPE_CHECKING, Any, NamedTuple

from dunes.beluga.store import jsonable
from dunes.config import Settings
from dunes.constants import TERMINAL_STATUSES
from dunes.devices import Inventory, discover
from dunes.errors import DunesError, JobCancelledError, JobError, JobNotFoundError
from dunes.orchestration import pipeline
from dunes.orchestration.jobs import JobRequest, JobResult
from dunes.orchestration.progress import ProgressJournal
from dunes.orchestration.store import chunk_id, open_job_store

if TYPE_CHECKING:
    from dunes.agents import AgentRuntime
    from dunes.beluga import GraphStore, StepEvent

log = logging.getLogger(__name__)


class Outcome(NamedTuple):
    """How one run of a job ended: its status and, when it succeeded, the result as stored
    (so a waiter can be handed it without reading the store back)."""

    status: str
    result: dict[str, Any] | None = None


def attempt_key(job_id: str, attempt: int) -> str:
    """The claim key of one execution attempt: the job id itself for the first."""
    return job_id if attempt == 0 else f"{job_id}@{attempt}"


class DeviceRuntime:
    """Everything one worker process keeps loaded for its device."""

    def __init__(
        self, settings: Settings, device: str, *, worker: str, label: str | None = None
    ) -> None:
        from dunes.quantum import ensure_native_allocator

        ensure_native_allocator()  # before any thread of this process runs qiskit
        self.settings = settings
        self.device = device
        #: The device as the submitting host names it (a pinned GPU is cuda:0 in here).
        self.label = label or device
        self.worker = worker
        self._store: GraphStore | None = None
        self._agents: AgentRuntime | None = None
        self._inventory: Inventory | None = None
        self._journal: ProgressJournal | None = None
        self._lock = threading.Lock()
        self.jobs_run = 0
        #: Set (e.g. by a soft time limit) to stop the running job at its next step boundary.
        self.stop_reason: str | None = None

    @property
    def store(self) -> GraphStore:
        if self._store is None:
            self._store = open_job_store(self.settings)
        return self._store

    @property
    def journal(self) -> ProgressJournal:
        """Where the running job's steps go on their way to the store."""
        if self._journal is None:
            delay = self.settings.executor.progress_delay_ms / 1000
            self._journal = ProgressJournal(self.store, delay_s=delay)
        return self._journal

    @property
    def inventory(self) -> Inventory:
        if self._inventory is None:
            self._inventory = discover()
        return self._inventory

    @property
    def agents(self) -> AgentRuntime:
        """The agents, built on first use and then kept (their models stay resident)."""
        with self._lock:
            if self._agents is None:
                from dunes.agents import AgentRuntime

                self._agents = AgentRuntime(self.settings, inventory=self.inventory)
            return self._agents

    def warm(self, *, agents: bool = False) -> None:
        """Load the store, the simulator and (optionally) the agents' models now."""
        _ = self.store, self.inventory
        from dunes.quantum.backend import aer_info

        aer_info()
        if agents:
            runtime = self.agents
            if hasattr(runtime, "warm"):
                runtime.warm()

    # --- running jobs ------------------------------------------------------------------------

    def execute(self, job_id: str, *, attempt: int = 0) -> str:
        """Run job ``job_id`` once; return its final status ('skipped' when not ours to run)."""
        return self.run_job(job_id, attempt=attempt).status

    def run_job(self, job_id: str, *, attempt: int = 0) -> Outcome:
        """Run job ``job_id`` once (see :meth:`execute`); its status and stored result."""
        store = self.store
        note = f" (attempt {attempt + 1})" if attempt else ""
        try:
            # Claim, 'running' and the start event in one transaction.
            job = store.start_job(
                job_id,
                claim=attempt_key(job_id, attempt),
                worker=self.worker,
                device=self.label,
                message=f"running on {self.label} by {self.worker}{note}",
            )
        except JobNotFoundError:
            log.warning("job %s is not in the store; message dropped", job_id)
            return Outcome("skipped")
        if job is None:
            log.info(
                "job %s attempt %d is over or already claimed; not running it", job_id, attempt
            )
            return Outcome("skipped")
        try:
            return self._run(job_id, job.kind, dict(job.input))
        except JobCancelledError:
            return Outcome("cancelled")
        finally:
            self.jobs_run += 1
            parent = job.input.get("parent") if job.kind == "chunk" else None
            if parent:
                try:
                    gather(store, parent, worker=self.worker)
                except Exception:
                    log.exception("gathering batch %s failed", parent)

    def _run(self, job_id: str, kind: str, data: dict[str, Any]) -> Outcome:
        store = self.store
        if kind == "chunk":
            _mark_parent_running(store, data["parent"], self.label)

        self.stop_reason = None
        journal = self.journal

        def report(step: str, progress: float, message: str) -> None:
            if self.stop_reason is not None:
                raise JobError(self.stop_reason)
            # Every step is recorded, a few ms behind the work; a cancel seen there raises here.
            journal.report(job_id, step, progress, message)

        ctx = pipeline.StepContext(
            settings=self.settings,
            device=self.device,
            inventory=self.inventory,
            report=report,
            job_id=job_id,
            graph_batches=[],
        )
        try:
            result = self.run_request(ctx, kind, data)
        except JobCancelledError as exc:
            return Outcome(self._cancelled(job_id, str(exc)))
        except DunesError as exc:
            return Outcome(self._fail(job_id, str(exc)))
        except Exception as exc:  # a bug in a step fails the job, never the worker
            log.exception("job %s raised", job_id)
            return Outcome(self._fail(job_id, f"{type(exc).__name__}: {exc}"))
        steps = journal.finish(job_id)
        payload = result.model_dump(mode="json")
        try:
            store.finish_job(
                job_id,
                status="succeeded",
                step="done",
                message="succeeded",
                result=payload,
                device=self.label,
                earlier=steps,
                graph=ctx.graph_batches or (),
            )
        except JobCancelledError as exc:
            return Outcome(self._cancelled(job_id, str(exc), steps))
        except JobError:  # it ended otherwise meanwhile (e.g. the hard limit); that end stands
            return Outcome("failed")
        except DunesError as exc:  # the graph record could not be written: the job failed
            log.warning("job %s could not be recorded: %s", job_id, exc)
            return Outcome(self._fail(job_id, f"recording the job failed: {exc}", steps))
        return Outcome("succeeded", payload)

    def _cancelled(self, job_id: str, message: str, steps: list[StepEvent] | None = None) -> str:
        """Close a job cancelled while it ran: its last steps and the worker's word on it."""
        if steps is None:
            steps = self.journal.finish(job_id)
        # When it ended otherwise meanwhile (e.g. failed by the hard limit), that end stands.
        with contextlib.suppress(JobError):
            self.store.finish_job(job_id, status="cancelled", message=message, earlier=steps)
        return "cancelled"

    def run_request(self, ctx: pipeline.StepContext, kind: str, data: dict[str, Any]) -> JobResult:
        """Dispatch on the job kind; the pipeline does the work."""
        if kind == "chunk":
            request = JobRequest.model_validate(data["request"])
            return pipeline.run_circuits(
                ctx, self.store, request, request.batch_circuits(), kind="chunk"
            )
        request = JobRequest.model_validate(data)
        if request.kind == "task":
            return pipeline.run_task(ctx, self.agents, self.store, request)
        if request.kind == "maml":
            return self._run_maml(ctx, request)
        return pipeline.run_circuits(
            ctx, self.store, request, request.batch_circuits(), kind=request.kind
        )

    def _run_maml(self, ctx: pipeline.StepContext, request: JobRequest) -> JobResult:
        """A MAML document (its text, or a path to a local file) through ``maml.run_document``.

        A failed block fails the job with the block's reason; a cancel kills the running block.
        """
        from pathlib import Path

        from dunes.errors import MamlError
        from dunes.maml import run_document

        assert request.maml is not None
        text, source = request.maml, None
        candidate = Path(text) if len(text) < 4096 and "\n" not in text else None
        local = request.origin == "local"  # a server never opens a path a client names
        if local and candidate is not None and candidate.suffix == ".md" and candidate.is_file():
            text, source = candidate.read_text(encoding="utf-8"), candidate
        cancel = threading.Event()

        def progress(fraction: float, message: str) -> None:
            try:
                ctx.report("maml", min(max(fraction, 0.0), 1.0), message)
            except JobCancelledError:
                cancel.set()

        outcome = run_document(
            settings=self.settings,
            text=text,
            source_path=source,
            store=self.store,
            job_id=ctx.job_id,
            cancel=cancel,
            progress=progress,
            origin=request.origin,
        )
        if cancel.is_set() or outcome.status == "cancelled":
            raise JobCancelledError(f"job {ctx.job_id} was cancelled while its document ran")
        if outcome.status in ("failed", "drift"):
            bad = next((b for b in outcome.blocks if b.status in ("failed", "timeout")), None)
            where = (
                f"block {bad.name} (line {bad.line}): {bad.reason or bad.stderr[-500:]}"
                if bad
                else ""
            )
            raise MamlError(f"document run {outcome.status}: {where or '; '.join(outcome.drift)}")
        return JobResult(
            job_id=ctx.job_id or "",
            status="succeeded",
            kind="maml",
            device=self.label,
            maml=jsonable(outcome),
        )

    def _fail(self, job_id: str, message: str, steps: list[StepEvent] | None = None) -> str:
        try:
            self.store.finish_job(
                job_id,
                status="failed",
                message=message,
                error=message,
                earlier=self.journal.finish(job_id) if steps is None else steps,
            )
        except JobCancelledError:
            return "cancelled"
        return "failed"


def _mark_parent_running(store: GraphStore, parent: str, device: str) -> None:
    job = store.get_job(parent)
    if job.status == "queued":
        store.update_job(parent, status="running", step="chunks", device=device)


def gather(store: GraphStore, parent: str, *, worker: str) -> bool:
    """Assemble a batch once all its chunks are done; exactly one caller does it (a claim)."""
    first = store.get_job(chunk_id(parent, 0))
    total = int(first.input.get("chunks", 1))
    chunks = [first] + [store.get_job(chunk_id(parent, i)) for i in range(1, total)]
    done = [c for c in chunks if c.status in TERMINAL_STATUSES]
    parent_job = store.get_job(parent)
    if parent_job.status in TERMINAL_STATUSES:
        return False
    if len(done) < total:
        store.update_job(parent, progress=len(done) / total)
        return False
    if not store.claim_job(f"gather:{parent}", worker=worker):
        return False
    failed = [c for c in chunks if c.status != "succeeded"]
    if failed:
        bad = failed[0]
        offset = bad.input.get("offset", 0)
        reason = bad.error or bad.status
        message = (
            f"batch chunk {bad.input.get('index')} (circuits from {offset}) {bad.status}: {reason}"
        )
        store.finish_job(parent, status="failed", message=message, error=message)
        return True
    results: list[Any] = []
    graph: dict[str, Any] = {"chunks": []}
    timings: dict[str, float] = {}
    devices: list[str] = []
    for chunk in chunks:
        data = chunk.result or {}
        results.extend(data.get("results") or [data.get("simulation")])
        graph["chunks"].append(
            {"job_id": chunk.id, "device": chunk.device, **data.get("graph", {})}
        )
        for key, value in (data.get("timings") or {}).items():
            timings[key] = max(timings.get(key, 0.0), float(value))
        if chunk.device and chunk.device not in devices:
            devices.append(chunk.device)
    result = JobResult(
        job_id=parent,
        status="succeeded",
        kind="batch",
        device=",".join(devices) or None,
        results=results,
        graph=graph,
        timings=timings,
    )
    store.finish_job(
        parent,
        status="succeeded",
        step="done",
        message=f"{len(results)} results from {total} chunk(s) on {', '.join(devices)}",
        result=result.model_dump(mode="json"),
        device=devices[0] if devices else None,
    )
    return True


def split(items: list[Any], parts: int) -> list[tuple[int, list[Any]]]:
    """Contiguous, near-equal chunks with their offsets (order kept for the gather)."""
    parts = max(1, min(parts, len(items)))
    size = math.ceil(len(items) / parts)
    out = []
    for offset in range(0, len(items), size):
        out.append((offset, items[offset : offset + size]))
    return out
