"""Each pipeline step on its own, then the chain, with the real agents and a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from dunes.agents import AgentRuntime
from dunes.beluga import GraphStore, open_store
from dunes.beluga.record import record_job
from dunes.config import Settings, get_settings
from dunes.errors import AgentError, CircuitError, CircuitSyntaxError, JobCancelledError
from dunes.orchestration import JobRequest, pipeline


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return get_settings(data_dir=tmp_path_factory.mktemp("pipeline"))


@pytest.fixture(scope="module")
def runtime(module_settings: Settings) -> AgentRuntime:
    return AgentRuntime(module_settings)


@pytest.fixture
def store(settings: Settings) -> Iterator[GraphStore]:
    graph = open_store(settings)
    yield graph
    graph.close()


def test_steps_one_by_one(runtime: AgentRuntime, module_settings: Settings) -> None:
    planned = pipeline.plan(runtime, "Design a 4-qubit GHZ state")
    assert planned.family == "ghz"
    extraction = pipeline.extract(runtime, "Design a 4-qubit GHZ state")
    assert extraction.num_qubits == 4
    spec = pipeline.build_circuit(planned, extraction)
    assert spec.to_seed() == "h(0); cx(0,1); cx(1,2); cx(2,3)"
    checked = pipeline.validate_circuit(runtime, spec, family="ghz", device="cpu")
    assert checked.passed
    ctx = pipeline.StepContext(settings=module_settings)
    options = pipeline.simulation_options(JobRequest(circuit="h(0)"), device="cpu")
    (result,) = pipeline.simulate(ctx, [spec], options)
    state = result.state
    assert state is not None
    assert np.allclose(abs(state[[0, 15]]), 2**-0.5)
    verified = pipeline.validate_result(runtime, spec, result, family="ghz", params={})
    assert verified.passed
    report = pipeline.synthesize(runtime, planned, result, [checked, verified])
    assert report.verdict == "pass"


def test_build_circuit_without_a_plan_names_the_families(runtime: AgentRuntime) -> None:
    planned = pipeline.plan(runtime, "bake me a chocolate cake")
    if planned.circuit is not None:
        pytest.fail(f"the planner should refuse a cake, got {planned.family}")
    with pytest.raises(AgentError, match="ghz"):
        pipeline.build_circuit(planned)


def test_run_task_records_every_role_in_the_graph(
    runtime: AgentRuntime, settings: Settings, store: GraphStore
) -> None:
    job_id = "pipeline-job-1"
    store.create_job(job_id=job_id, kind="task", input={"task": "Design a 4-qubit GHZ state"})
    steps: list[str] = []
    ctx = pipeline.StepContext(
        settings=settings, job_id=job_id, report=lambda step, p, m: steps.append(step)
    )
    result = pipeline.run_task(ctx, runtime, store, JobRequest(task="Design a 4-qubit GHZ state"))
    assert result.circuit == "h(0); cx(0,1); cx(1,2); cx(2,3)"
    assert set(result.llm_outputs) == {"planner", "extraction", "validation", "synthesis"}
    assert all(o.device == "cpu" and o.model for o in result.llm_outputs.values())
    assert list(dict.fromkeys(steps)) == [s for s, _ in pipeline.TASK_STEPS]
    lineage = store.lineage(job_id, depth=2)
    kinds = lineage.kinds()
    assert len(kinds["simulation"]) == 1
    assert len(kinds["agent_run"]) == 5  # planner, extraction, validation x2, synthesis
    assert len(kinds["report"]) == 1
    # Recording again (a re-run after a crash) adds no second simulation.
    again = record_job(
        store,
        job_id=job_id,
        device="cpu",
        task=None,
        specs=[result.simulation and _spec(result.circuit)],
        results=[result.simulation],
    )
    assert again["simulations"] == []
    assert len(store.lineage(job_id, depth=1).kinds()["simulation"]) == 1


def _spec(text: str | None):  # type: ignore[no-untyped-def]
    from dunes.quantum import parse_circuit

    assert text is not None
    return parse_circuit(text)


def test_report_can_cancel_between_steps(runtime: AgentRuntime, settings: Settings) -> None:
    def report(step: str, progress: float, message: str) -> None:
        if step == "validate_circuit":
            raise JobCancelledError("cancelled")

    ctx = pipeline.StepContext(settings=settings, report=report)
    with pytest.raises(JobCancelledError):
        pipeline.run_task(ctx, runtime, None, JobRequest(task="Design a 3-qubit GHZ state"))


def test_bad_circuit_in_a_batch_names_its_index(settings: Settings) -> None:
    ctx = pipeline.StepContext(settings=settings)
    with pytest.raises(CircuitError, match="circuit 1: line 1, column 1: unknown gate 'hh'"):
        pipeline.run_circuits(ctx, None, JobRequest(circuits=["h(0)", "hh(0)"]), ["h(0)", "hh(0)"])
    with pytest.raises(CircuitSyntaxError):
        pipeline.run_circuits(ctx, None, JobRequest(circuit="hh(0)"), ["hh(0)"])


def test_run_circuits_keeps_order(settings: Settings, tmp_path: Path) -> None:
    ctx = pipeline.StepContext(settings=settings)
    circuits = ["x(0)", "h(0)", "x(0); x(1)"]
    result = pipeline.run_circuits(ctx, None, JobRequest(circuits=circuits), circuits, kind="batch")
    assert [r.circuit for r in result.results or []] == ["x(0)", "h(0)", "x(0); x(1)"]


def test_a_worker_records_every_step_as_an_event(runtime: AgentRuntime, settings: Settings) -> None:
    from dunes.orchestration.runner import DeviceRuntime

    worker = DeviceRuntime(settings, "cpu", worker="steps")
    worker._agents = runtime  # the module's agents, already loaded
    store = worker.store
    request = JobRequest(task="Design a 4-qubit GHZ state")
    store.create_job(job_id="steps-1", kind="task", input=request.model_dump(mode="json"))
    assert worker.execute("steps-1") == "succeeded"
    events = store.job_events("steps-1")
    steps = [e.step for e in events]
    assert steps[0] == "start" and steps[-1] == "done"
    # Every step of the chain is in the stream once it is done, however fast it was.
    names = [name for name, _ in pipeline.TASK_STEPS]
    assert [s for i, s in enumerate(steps) if s in names and s not in steps[i + 1 :]] == names
    assert [e.progress for e in events] == sorted(e.progress for e in events)
    job = store.get_job("steps-1")
    assert (job.status, job.step, job.progress, job.worker) == ("succeeded", "done", 1.0, "steps")
    # A finished job, asked again (a redelivered message), is not run twice.
    assert worker.execute("steps-1") == "skipped"
    assert len(store.job_events("steps-1")) == len(events)
    worker.store.close()


def test_a_job_is_found_by_its_task_and_its_report_once_each(
    settings: Settings, runtime: AgentRuntime, store: GraphStore
) -> None:
    job_id = "c0ffee" + "0" * 26
    ctx = pipeline.StepContext(settings=settings, job_id=job_id)
    pipeline.run_task(ctx, runtime, store, JobRequest(task="Design a 4-qubit GHZ state"))
    embedded = [n for n in store.lineage(job_id, depth=2).nodes if n.embedding is not None]
    assert sorted(n.kind for n in embedded) == ["report", "task"]
    # Agent runs are named <role>@<job>: a prefix of the job id names the job alone.
    runs = [n.id for n in store.lineage(job_id, depth=1).nodes if n.kind == "agent_run"]
    assert runs and all(r.endswith(f"@{job_id}") for r in runs)
    assert store.resolve("c0ffee") == job_id
    vector = runtime.embed(["a GHZ state on four qubits"])[0]
    kinds = [node.kind for node, _ in store.search(list(map(float, vector)), top_k=5)]
    assert set(kinds) == {"task", "report"}
