"""Classical control in every notation, and QASM told apart from seed notation as found."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.circuit.classical import expr

from dunes.errors import CircuitSyntaxError, CircuitValidationError
from dunes.quantum import SimulationOptions, parse_circuit, simulate
from dunes.quantum.circuit import Condition
from dunes.quantum.parse import detect_format, from_qiskit
from dunes.quantum.plots import circuit_text

TELEPORT_SEED = """
rx(0.4, 0)
h(1); cx(1, 2)
cx(0, 1); h(0)
measure(0, 0); measure(1, 1)
if(c[1]==1) x(2)
if(c[0]) z(2)
"""


def test_seed_if_forms_read_the_same_condition() -> None:
    forms = {
        "if(c==1) x(1)": Condition(clbits=(0,), value=1),
        "if (c[0] == 1) x(1)": Condition(clbits=(0,), value=1),
        "if(c[0]) x(1)": Condition(clbits=(0,), value=1),
        "if(!c[0]) x(1)": Condition(clbits=(0,), value=0),
    }
    for text, condition in forms.items():
        spec = parse_circuit("h(0); measure(0, 0); " + text)
        branch = spec.operations[-1]
        assert branch.name == "if_else" and branch.condition == condition, text
        assert [op.name for op in branch.body] == ["x"], text


def test_seed_blocks_else_ranges_and_not_equal() -> None:
    spec = parse_circuit(
        "h(0); h(1); measure(0,0); measure(1,1)\n"
        "if (c[0:2] == 3) { x(2); h(2) }\n"
        "else { z(2) }\n"
        "if (c != 0) y(2)"
    )
    first, second = spec.operations[-2:]
    assert first.condition == Condition(clbits=(0, 1), value=3)
    assert [op.name for op in first.body] == ["x", "h"] and [op.name for op in first.orelse] == [
        "z"
    ]
    # c != 0 is the else of c == 0
    assert second.condition == Condition(clbits=(0, 1), value=0)
    assert second.body == () and [op.name for op in second.orelse] == ["y"]
    again = parse_circuit(spec.to_seed())
    assert again == spec


def test_teleportation_in_seed_notation_is_exact() -> None:
    result = simulate(parse_circuit(TELEPORT_SEED + "measure(2, 2)"))
    assert result.probabilities_of == "clbits"
    probabilities = result.probabilities or {}
    one = sum(p for bits, p in probabilities.items() if bits[0] == "1")
    assert one == pytest.approx(0.0394695029985574, abs=1e-12)  # sin^2(0.2)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("h(0); if(c==1) x(0)", "nothing is measured into it"),
        ("measure(0,0); if(c[0]==2) x(0)", "compares 1 classical bit(s) with 2"),
        ("measure(0,0); if(c[0] > 1) x(0)", "expected a condition like c==1"),
        ("measure(0,0); if c==1 x(0)", "expected '(' and a condition"),
        ("measure(0,0); if(c==1) { x(0)", "unclosed block"),
        ("measure(0,0); if(c==1)", "expected a statement or a { block }"),
        ("measure(0,0); else x(0)", "'else' without an 'if'"),
        ("measure(0,0); if(c[0,0]==1) x(0)", "same classical bit twice"),
    ],
)
def test_bad_conditions_say_what_is_accepted(text: str, fragment: str) -> None:
    with pytest.raises((CircuitSyntaxError, CircuitValidationError)) as info:
        parse_circuit(text)
    assert fragment in str(info.value)
    assert str(info.value).startswith("line 1, column ")


def test_json_conditions_both_ways() -> None:
    gates = [
        {"gate": "h", "qubits": [0]},
        {"gate": "measure", "qubits": [0], "clbits": [0]},
        {"gate": "x", "qubits": [1], "condition": "c[0]==1"},
        {
            "gate": "if_else",
            "condition": {"clbits": [0], "value": 0},
            "then": [{"gate": "h", "qubits": [1]}],
            "else": [{"gate": "z", "qubits": [1]}],
        },
    ]
    spec = parse_circuit(json.dumps(gates))
    assert spec.to_seed() == ("h(0); measure(0); if(c==1) x(1); if(c==0) { h(1) } else { z(1) }")
    with pytest.raises(CircuitValidationError, match=r"gate 3 then 0: unknown gate 'hh'"):
        parse_circuit(
            [*gates[:3], {"gate": "if_else", "condition": "c==0", "then": [{"gate": "hh"}]}]
        )
    with pytest.raises(CircuitValidationError, match="condition must be text"):
        parse_circuit([*gates[:2], {"gate": "x", "qubits": [1], "condition": 3}])


def test_qiskit_objects_with_if_else_and_expressions() -> None:
    qc = QuantumCircuit(3, 2)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)) as orelse:
        qc.x(1)
    with orelse:
        qc.h(1)
    with qc.if_test(expr.logic_not(qc.clbits[0])):
        qc.x(2)
    with qc.if_test(expr.not_equal(qc.cregs[0], 1)):
        qc.z(2)
    spec = from_qiskit(qc)
    kinds = [(op.condition, len(op.body), len(op.orelse)) for op in spec.operations[2:]]
    assert kinds == [
        (Condition(clbits=(0,), value=1), 1, 1),
        (Condition(clbits=(0,), value=0), 1, 0),
        (Condition(clbits=(0, 1), value=1), 0, 1),
    ]
    assert "If" in circuit_text(spec)
    with pytest.raises(CircuitValidationError, match="while_loop is not supported"):
        loop = QuantumCircuit(1, 1)
        with loop.while_loop((loop.clbits[0], 0)):
            loop.h(0)
            loop.measure(0, 0)
        from_qiskit(loop)


def test_classical_control_runs_on_aer_with_shots_when_branches_are_too_many() -> None:
    from dunes.config import QuantumSettings

    spec = parse_circuit(TELEPORT_SEED + "measure(2, 2)")
    result = simulate(
        spec,
        SimulationOptions(shots=3000, seed=1),
        settings=QuantumSettings(max_branch_amplitudes=4),
    )
    assert result.backend.startswith("qiskit-aer") and result.counts is not None
    one = sum(c for bits, c in result.counts.items() if bits[0] == "1") / 3000
    assert one == pytest.approx(0.0394695, abs=0.02)


# --- telling notations apart ------------------------------------------------------------------

HEADERLESS = '// from a course\n// bell pair\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


def test_headerless_qasm_is_read_as_qasm() -> None:
    assert detect_format(HEADERLESS) == "qasm2"
    spec = parse_circuit(HEADERLESS)
    assert [op.name for op in spec.operations][:2] == ["h", "cx"]
    assert detect_format("qreg q[1];\nh q[0];\n") == "qasm2"
    assert detect_format('include "stdgates.inc";\nqubit[1] q;\nh q[0];') == "qasm3"
    assert detect_format("qubit[2] q;\nh q[0];\ncx q[0], q[1];") == "qasm3"
    assert detect_format("\ufeffOPENQASM 2.0;\nqreg q[1];") == "qasm2"


def test_the_file_suffix_decides_where_the_text_does_not() -> None:
    assert detect_format("h q[0];", suffix=".qasm3") == "qasm3"
    assert detect_format("h(0)", suffix=".json") == "json"
    assert detect_format("h(0); cx(0,1)") == "seed"


def test_missing_standard_include_is_supplied() -> None:
    spec = parse_circuit("OPENQASM 2.0;\nqreg q[2];\nh q[0];\ncx q[0],q[1];\nsx q[1];\n")
    assert [op.name for op in spec.operations] == ["h", "cx", "sx"]
    three = parse_circuit("OPENQASM 3.0;\nqubit[2] q;\nh q[0];\ncx q[0], q[1];\n")
    assert [op.name for op in three.operations] == ["h", "cx"]


def test_text_that_is_no_notation_names_each_attempt() -> None:
    with pytest.raises(CircuitSyntaxError) as info:
        parse_circuit("prepare the bell state please")
    message = str(info.value)
    assert message.startswith("line 1, column 9: expected ';' or a new line")
    assert "read as seed notation" in message
    assert "as OpenQASM 2:" in message and "as OpenQASM 3:" in message


def test_unsupported_qasm_version_is_named() -> None:
    with pytest.raises(CircuitSyntaxError, match="OPENQASM 4: unsupported version"):
        parse_circuit("// new\nOPENQASM 4.0;\nqreg q[1];")


@settings(max_examples=120, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "h(0)",
                "x(1)",
                "measure(0, 0)",
                "measure(1, 1)",
                "reset(0)",
                "if(c[0]==1) x(1)",
                "if(c==2) { h(0); x(1) } else { z(0) }",
                "if(!c[1]) h(1)",
                "cx(0, 1)",
            ]
        ),
        min_size=1,
        max_size=10,
    )
)
def test_seed_with_control_round_trips(statements: list[str]) -> None:
    text = "measure(0,0); measure(1,1); " + "; ".join(statements)
    spec = parse_circuit(text)
    again = parse_circuit(spec.to_seed(), num_qubits=spec.num_qubits)
    assert again == spec and again.sha256() == spec.sha256()
