"""``dunes agents`` commands, in process (the session's MiniLM stays loaded)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from dunes.agents import AgentRuntime
from dunes.interfaces.cli.agents import app

runner = CliRunner()


def test_plan_json(minilm_runtime: AgentRuntime) -> None:
    result = runner.invoke(app, ["plan", "Design a 4-qubit GHZ state", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["family"] == "ghz"
    assert data["num_qubits"] == 4
    assert data["circuit"] == "h(0); cx(0,1); cx(1,2); cx(2,3)"
    assert 0.35 <= data["confidence"] <= 1


def test_plan_refuses_with_a_reason_and_nonzero_exit(minilm_runtime: AgentRuntime) -> None:
    result = runner.invoke(app, ["plan", "what is the weather", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["family"] is None
    assert data["circuit"] is None
    assert "below the threshold" in data["reason"]
    text = runner.invoke(app, ["plan", "what is the weather"])
    assert text.exit_code == 1
    assert "no plan" in text.output


def test_run_role_text_and_json(minilm_runtime: AgentRuntime) -> None:
    result = runner.invoke(app, ["run", "extraction", "ten qubits, 500 shots", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["role"], data["num_qubits"], data["shots"]) == ("extraction", 10, 500)
    report = runner.invoke(app, ["run", "synthesis", "Create a Bell state"])
    assert report.exit_code == 0, report.output
    assert "Verdict: pass." in report.output


def test_placement_json() -> None:
    result = runner.invoke(app, ["placement", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["role"] for r in data["roles"]] == [
        "planner",
        "extraction",
        "validation",
        "synthesis",
    ]
    assert all(r["model"] == "all-MiniLM-L6-v2" for r in data["roles"])
