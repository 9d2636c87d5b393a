"""The planner and the roles on the packaged MiniLM (loaded once per session)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dunes.agents import AgentRuntime, PlanResult
from dunes.errors import AgentError, CircuitSyntaxError, InvalidInputError
from dunes.quantum import SimulationOptions, parse_circuit, simulate
from dunes.quantum import families as F

# (task, expected family, expected qubit count)
PHRASINGS = [
    ("Design a 4-qubit GHZ state", "ghz", 4),
    ("Prepare a GHZ state on five qubits", "ghz", 5),
    ("create a Greenberger-Horne-Zeilinger state with 3 qubits", "ghz", 3),
    ("make a ten qubit cat state", "ghz", 10),
    ("entangle six qubits in a GHZ configuration", "ghz", 6),
    ("Desing a 4 qubit GHZ sate", "ghz", 4),
    ("ghz on 7 qbits please", "ghz", 7),
    ("build a twelve-qubit GHZ circuit", "ghz", 12),
    ("Create a Bell state", "bell", 2),
    ("make an entangled pair of qubits", "bell", 2),
    ("prepare an EPR pair", "bell", 2),
    ("Bell state psi minus", "bell", 2),
    ("bel state please", "bell", 2),
    ("Prepare a W state on three qubits", "w_state", 3),
    ("create a four-qubit W-state", "w_state", 4),
    ("W state with 5 qubits", "w_state", 5),
    ("Apply the quantum Fourier transform to 3 qubits", "qft", 3),
    ("QFT on five qubits", "qft", 5),
    ("quantum fourier transfrom of the basis state |101>", "qft", 3),
    ("Fourier transform a 4 qubit register", "qft", 4),
    ("inverse QFT on 4 qubits", "iqft", 4),
    ("apply the inverse quantum Fourier transform to three qubits", "iqft", 3),
    ("QFT dagger on 2 qubits for phase estimation", "iqft", 2),
    ("Run Grover's algorithm to find 101", "grover", 3),
    ("grover search for the marked item 0110", "grover", 4),
    ("Grover search on three qubits", "grover", 3),
    ("use amplitude amplification to find 11", "grover", 2),
    ("groover serch marked state 1001", "grover", 4),
    ("Deutsch-Jozsa algorithm with a balanced oracle on 4 qubits", "deutsch_jozsa", 4),
    ("decide whether a function is constant or balanced using 3 qubits", "deutsch_jozsa", 3),
    ("deutsch jozsa constant oracle, five qubits", "deutsch_jozsa", 5),
    ("Bernstein-Vazirani with secret 1011", "bernstein_vazirani", 5),
    ("recover the hidden string 110 with Bernstein Vazirani", "bernstein_vazirani", 4),
    ("find the secret bitstring 0101 using one oracle query", "bernstein_vazirani", 5),
    ("bernstien vazirani on 4 qubits", "bernstein_vazirani", 4),
    ("Teleport a qubit from Alice to Bob", "teleportation", 3),
    ("quantum teleportation of the state with theta = pi/4", "teleportation", 3),
    ("teleportaton protocol", "teleportation", 3),
    ("Generate a random circuit on 5 qubits", "random", 5),
    ("random quantum circuit with depth 10 on eight qubits", "random", 8),
    ("a randomly generated benchmark circuit, 3 qubits, seed 42", "random", 3),
    ("equal superposition of all zeros and all ones on 6 qubits", "ghz", 6),
    ("make 8 qubits all entangled", "ghz", 8),
    ("Entangle two qubits", "bell", 2),
]

UNRELATED = [
    "what is the weather",
    "What is the weather like in Paris today?",
    "tell me a joke about cats",
    "book a flight to Berlin",
    "how do I cook pasta",
    "summarise this email for me",
]


@pytest.fixture(scope="module")
def plans(minilm_runtime: AgentRuntime) -> dict[str, PlanResult]:
    return {task: minilm_runtime.plan(task) for task, _, _ in PHRASINGS}


def test_at_least_forty_phrasings() -> None:
    assert len(PHRASINGS) >= 40
    assert {family for _, family, _ in PHRASINGS} == set(F.FAMILIES)


@pytest.mark.parametrize(("task", "family", "qubits"), PHRASINGS)
def test_phrasing_gives_family_and_qubits(
    plans: dict[str, PlanResult], task: str, family: str, qubits: int
) -> None:
    plan = plans[task]
    assert plan.family == family, plan.reason
    assert plan.num_qubits == qubits
    assert plan.circuit is not None
    assert plan.circuit.num_qubits == qubits
    assert plan.confidence >= 0.35
    assert plan.runner_up not in (None, family)
    assert plan.runner_up_confidence is not None
    assert plan.runner_up_confidence <= plan.confidence


@pytest.mark.parametrize("task", UNRELATED)
def test_unrelated_text_is_refused(minilm_runtime: AgentRuntime, task: str) -> None:
    plan = minilm_runtime.plan(task)
    assert plan.family is None
    assert plan.circuit is None
    assert plan.source == "none"
    assert "below the threshold" in plan.reason
    assert plan.confidence < 0.35


def test_the_ghz_example_and_its_encoding(minilm_runtime: AgentRuntime) -> None:
    plan = minilm_runtime.plan("Design a 4-qubit GHZ state")
    assert plan.circuit_seed == "h(0); cx(0,1); cx(1,2); cx(2,3)"
    public = json.loads(json.dumps(plan.public()))
    assert public["family"] == "ghz"
    assert public["num_qubits"] == 4
    assert public["circuit"] == "h(0); cx(0,1); cx(1,2); cx(2,3)"
    assert public["role"] == "planner"
    assert public["device"] == "cpu"
    assert public["model"] == "all-MiniLM-L6-v2"
    assert len(public["embedding"]) == 384
    again = PlanResult.model_validate_json(plan.model_dump_json())
    assert again.circuit == plan.circuit
    assert math.isclose(float(np.linalg.norm(plan.embedding)), 1, abs_tol=1e-4)


def test_parameters_reach_the_circuit(minilm_runtime: AgentRuntime) -> None:
    grover = minilm_runtime.plan("Grover search for the marked item 0110 with 2000 shots")
    assert grover.params["marked"] == "0110"
    assert grover.shots == 2000
    state = simulate(grover.circuit).state
    assert int(np.argmax(np.abs(state))) == 0b0110
    bv = minilm_runtime.plan("Bernstein-Vazirani with secret 1011")
    assert bv.params["secret"] == "1011"
    teleport = minilm_runtime.plan(
        "teleport a qubit prepared with theta = pi/4 and phi = 30 degrees"
    )
    assert teleport.params["theta"] == pytest.approx(math.pi / 4)
    assert teleport.params["phi"] == pytest.approx(math.pi / 6)


def test_defaults_are_reported(minilm_runtime: AgentRuntime) -> None:
    plan = minilm_runtime.plan("Grover search")
    assert plan.defaults_used["num_qubits"] == 3
    assert plan.defaults_used["marked"] == "111"
    assert plan.defaults_used["shots"] == 0
    assert "num_qubits" in plan.extraction.missing
    assert "marked" in plan.extraction.missing


def test_a_width_the_family_cannot_take_is_an_error(minilm_runtime: AgentRuntime) -> None:
    with pytest.raises(InvalidInputError, match=r"Grover search takes 2\.\.8 qubits; got 12"):
        minilm_runtime.plan("Grover search on 12 qubits")


def test_a_given_circuit_is_used_as_is(minilm_runtime: AgentRuntime) -> None:
    plan = minilm_runtime.plan("Simulate this: h(0); cx(0,1); rx(pi/2, 2); measure")
    assert plan.source == "given"
    assert plan.circuit == parse_circuit("h(0); cx(0,1); rx(pi/2, 2); measure")
    qasm = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\ncx q[0],q[1];\n'
    from_qasm = minilm_runtime.plan(f"run this program:\n{qasm}")
    assert from_qasm.source == "given"
    assert from_qasm.circuit_seed == "h(0); cx(0,1)"
    with pytest.raises(CircuitSyntaxError):
        minilm_runtime.plan("simulate h(0); cx(0,)")


def test_validation_before_and_after(minilm_runtime: AgentRuntime) -> None:
    plan = minilm_runtime.plan("Prepare a W state on three qubits")
    before = minilm_runtime.validate_circuit(plan.circuit, family=plan.family)
    assert before.passed
    assert {c.name for c in before.checks} >= {"qubits", "depth", "memory"}
    assert before.role == "validation"
    assert len(before.embedding) == 384
    result = simulate(plan.circuit, SimulationOptions())
    after = minilm_runtime.validate_result(
        plan.circuit, result, family=plan.family, params=plan.params
    )
    assert after.passed
    assert after.check("fidelity").value == pytest.approx(1.0, abs=1e-9)
    assert after.check("norm").ok
    # a circuit that is not what the family promises fails the fidelity check
    wrong = parse_circuit("h(0); h(1); h(2)")
    failed = minilm_runtime.validate_result(
        wrong, simulate(wrong), family="w_state", params={"num_qubits": 3}
    )
    assert not failed.passed
    assert failed.check("fidelity").value == pytest.approx(3 / 8, abs=1e-9)
    assert "failed: fidelity" in failed.verdict


def test_memory_check_against_a_small_device(minilm_runtime: AgentRuntime) -> None:
    from dunes.devices import Device

    small = Device(id="cpu", kind="cpu", name="small", memory_total=2**26, memory_free=2**26)
    spec = F.build("qft", {"num_qubits": 22})
    report = minilm_runtime.validate_circuit(spec, family="qft", device=small)
    assert not report.passed
    memory = report.check("memory")
    assert memory.ok is False
    assert "22-qubit circuit as a statevector needs 80.0 MiB" in memory.detail
    clifford = minilm_runtime.validate_circuit(F.build("ghz", {"num_qubits": 200}), device=small)
    assert clifford.check("memory").ok is True  # the stabilizer runs it in 16 MiB
    assert "stabilizer run needs" in clifford.check("memory").detail


def test_sampled_result_is_checked_by_distribution(minilm_runtime: AgentRuntime) -> None:
    spec = parse_circuit("h(0); cx(0,1); cx(1,2); measure")
    result = simulate(spec, SimulationOptions(shots=2000, seed=1, statevector=False))
    report = minilm_runtime.validate_result(spec, result, family="ghz")
    assert report.check("fidelity").ok
    assert report.check("fidelity").value > 0.99


def test_synthesis_reports_outcomes_entropy_and_verdict(minilm_runtime: AgentRuntime) -> None:
    report = minilm_runtime.run_role("synthesis", "Design a 4-qubit GHZ state")
    assert report.role == "synthesis"
    assert report.verdict == "pass"
    assert {o.bitstring for o in report.top_outcomes} == {"0000", "1111"}
    assert report.entropy_bits == pytest.approx(1.0)
    assert "4-qubit GHZ state" in report.text
    assert "Verdict: pass." in report.text
    assert len(report.embedding) == 384


def test_run_role_for_each_role(minilm_runtime: AgentRuntime) -> None:
    extraction = minilm_runtime.run_role("extraction", "five qubit QFT with 100 shots")
    assert (extraction.num_qubits, extraction.shots) == (5, 100)
    assert minilm_runtime.run_role("planner", "QFT on 3 qubits").family == "qft"
    assert minilm_runtime.run_role("validation", "QFT on 3 qubits").stage == "circuit"
    with pytest.raises(AgentError, match="needs a circuit"):
        minilm_runtime.run_role("synthesis", "what is the weather")


@pytest.mark.parametrize("role", ["planner", "extraction", "validation", "synthesis"])
def test_every_role_output_has_one_json_encoding(minilm_runtime: AgentRuntime, role: str) -> None:
    output = minilm_runtime.run_role(role, "Prepare a W state on three qubits")
    data = json.loads(output.model_dump_json())
    assert data["role"] == role
    assert data["device"] == "cpu"
    assert data["model"] == "all-MiniLM-L6-v2"
    assert len(data["embedding"]) == 384
    assert type(output).model_validate_json(output.model_dump_json()) == output


def test_embed_returns_unit_rows(minilm_runtime: AgentRuntime) -> None:
    vectors = minilm_runtime.embed(["GHZ state", "Bell pair", "weather"], role="planner")
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
