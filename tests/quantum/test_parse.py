"""Every accepted notation parses to the same CircuitSpec, and every broken input says why."""

from __future__ import annotations

import json
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunes.errors import CircuitSyntaxError, CircuitValidationError, DunesError
from dunes.quantum import CircuitSpec, Operation, parse_circuit
from dunes.quantum.gates import GATES, canonical_name, suggest
from dunes.quantum.parse import detect_format

QASM2_BELL = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
h q[0];
cx q[0],q[1];
rx(pi/2) q[2];
cp(pi/4) q[1],q[2];
measure q -> c;
"""

QASM3_BELL = """OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
bit[3] c;
h q[0];
cx q[0], q[1];
rx(pi/2) q[2];
cp(pi/4) q[1], q[2];
c = measure q;
"""


def names(spec: CircuitSpec) -> list[str]:
    return [op.name for op in spec.operations]


# --- seed notation ----------------------------------------------------------------------------


def test_seed_ghz_infers_qubits() -> None:
    spec = parse_circuit("h(0); cx(0,1); cx(1,2)")
    assert spec.num_qubits == 3
    assert names(spec) == ["h", "cx", "cx"]
    assert spec.operations[2].qubits == (1, 2)


def test_seed_parameters_expressions_and_aliases() -> None:
    spec = parse_circuit(
        "rx(pi/2, 0)\ncp(pi/4, 0, 1); u(1, 2, -3*pi/4, 1); cnot(1, 2); toffoli(0,1,2)"
    )
    rx, cp, u, cnot, ccx = spec.operations
    assert rx.params == (math.pi / 2,)
    assert cp.params == (math.pi / 4,) and cp.qubits == (0, 1)
    assert u.params == (1.0, 2.0, -3 * math.pi / 4)
    assert cnot.name == "cx" and ccx.name == "ccx"


def test_seed_measure_forms_and_comments() -> None:
    spec = parse_circuit("# a comment\nh(0) // trailing\ncx(0,1)\nmeasure(0); measure(1, 0)")
    assert [op.clbits for op in spec.operations if op.name == "measure"] == [(0,), (0,)]
    whole = parse_circuit("h(0); cx(0,1); measure")
    last = whole.operations[-1]
    assert last.name == "measure" and last.qubits == (0, 1) and last.clbits == (0, 1)
    assert whole.num_clbits == 2


def test_seed_num_qubits_given_widens_circuit() -> None:
    assert parse_circuit("h(0)", num_qubits=5).num_qubits == 5


@pytest.mark.parametrize(
    ("text", "near"),
    [("hh(0)", "h"), ("cxx(0,1)", "cx"), ("toffolli(0,1,2)", "toffoli"), ("rzz_(1, 0, 1)", "rzz")],
)
def test_unknown_gate_names_nearest(text: str, near: str) -> None:
    with pytest.raises(CircuitError_) as info:
        parse_circuit(text)
    message = str(info.value)
    assert f"unknown gate {text.split('(')[0]!r}" in message
    assert near in message.split("did you mean", 1)[1]


CircuitError_ = (CircuitSyntaxError, CircuitValidationError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cx(0)", "takes 0 parameter(s) and 2 qubit(s), written cx(q0, q1); got 1"),
        ("rx(0)", "takes 1 parameter(s) and 1 qubit(s), written rx(theta, q0); got 1"),
        ("cp(0.1, 0, 1, 2)", "takes 1 parameter(s) and 2 qubit(s)"),
        ("h(0, 1)", "takes 0 parameter(s) and 1 qubit(s)"),
    ],
)
def test_wrong_arity_or_parameter_count(text: str, expected: str) -> None:
    with pytest.raises(CircuitSyntaxError) as info:
        parse_circuit(text)
    assert expected in str(info.value)
    assert info.value.line == 1 and info.value.column == 1


def test_qubit_out_of_range_names_range_and_position() -> None:
    with pytest.raises(CircuitValidationError) as info:
        parse_circuit("h(0)\ncx(0, 3)", num_qubits=3)
    message = str(info.value)
    assert "qubit index 3 out of range for a 3-qubit circuit (valid: 0..2)" in message
    assert "line 2, column 1" in message


def test_huge_qubit_index_is_refused_without_allocating() -> None:
    with pytest.raises(
        CircuitValidationError, match=r"too large \(dunes accepts indices 0..65535\)"
    ):
        parse_circuit("measure; h(40000000000)")


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", ";;", "barrier"])
def test_empty_circuit(text: str) -> None:
    with pytest.raises(CircuitValidationError, match="empty circuit"):
        parse_circuit(text)


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("h(0) cx(0,1)", 1, 6, "expected ';' or a new line"),
        ("h(0); cx(0,1)\nrx(pi/, 1)", 2, 4, "cannot read parameter 'pi/'"),
        ("h(0)\n  cx(0,1", 2, 5, "unclosed '('"),
        ("h(0); 5(1)", 1, 7, "expected a gate name"),
        ("rx(foo, 0)", 1, 4, "only numbers, pi, tau, e"),
        ("rx(1/0, 0)", 1, 4, "ZeroDivisionError"),
        ("h(-1)", 1, 3, "non-negative integer"),
    ],
)
def test_syntax_error_has_line_and_column(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(CircuitSyntaxError) as info:
        parse_circuit(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert str(info.value).startswith(f"line {line}, column {column}: ")
    assert fragment in str(info.value)


def test_same_qubit_twice_is_refused() -> None:
    with pytest.raises(CircuitValidationError, match="same qubit appears twice"):
        parse_circuit("cx(1, 1)")


def test_num_qubits_out_of_range() -> None:
    with pytest.raises(CircuitValidationError, match="num_qubits=0 is out of range"):
        parse_circuit("h(0)", num_qubits=0)


# --- OpenQASM ------------------------------------------------------------------------------


def test_qasm2_and_qasm3_give_the_same_spec() -> None:
    two = parse_circuit(QASM2_BELL)
    three = parse_circuit(QASM3_BELL)
    assert detect_format(QASM2_BELL) == "qasm2" and detect_format(QASM3_BELL) == "qasm3"
    assert two.operations == three.operations
    assert names(two) == ["h", "cx", "rx", "cp", "measure", "measure", "measure"]
    assert two.operations[2].params == pytest.approx((math.pi / 2,), abs=1e-15)


def test_qasm2_custom_gate_is_decomposed() -> None:
    text = 'OPENQASM 2.0;\ninclude "qelib1.inc";\ngate bell a, b { h a; cx a, b; }\nqreg q[2];\nbell q[0], q[1];\n'
    assert names(parse_circuit(text)) == ["h", "cx"]


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0]\ncx q[0],q[1];\n', 5, 1),
        ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nfoo q[0];\n', 4, 1),
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nrx(pi/) q[0];\n', 4, 7),
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nfoo q[0];\n', 4, 1),
    ],
)
def test_qasm_syntax_errors_carry_line_and_column(text: str, line: int, column: int) -> None:
    with pytest.raises(CircuitSyntaxError) as info:
        parse_circuit(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert "OpenQASM" in str(info.value)


def test_qasm3_if_is_kept_and_loops_are_refused_by_name() -> None:
    head = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[1] c;\nh q[0];\n'
    spec = parse_circuit(head + "c[0] = measure q[0];\nif (c[0]) x q[1];\n")
    branch = spec.operations[-1]
    assert branch.name == "if_else" and branch.condition is not None
    assert branch.condition.clbits == (0,) and branch.condition.value == 1
    assert [op.name for op in branch.body] == ["x"]
    with pytest.raises(CircuitValidationError, match="while_loop is not supported"):
        parse_circuit(
            head + "c[0] = measure q[0];\nwhile (c[0]) { x q[0]; c[0] = measure q[0]; }\n"
        )


# --- JSON ----------------------------------------------------------------------------------


def test_json_list_object_and_python_value_agree() -> None:
    gates = [
        {"gate": "h", "qubits": [0]},
        {"gate": "cx", "qubits": [0, 1]},
        {"gate": "rx", "params": ["pi/2"], "qubits": [1]},
        {"gate": "measure", "qubits": [0, 1], "clbits": [1, 0]},
    ]
    from_list = parse_circuit(json.dumps(gates))
    from_object = parse_circuit(json.dumps({"num_qubits": 3, "gates": gates}))
    from_value = parse_circuit(gates)
    assert from_list.operations == from_value.operations == from_object.operations
    assert from_object.num_qubits == 3 and from_list.num_qubits == 2
    assert [op.clbits for op in from_list.operations if op.name == "measure"] == [(1,), (0,)]
    seed = parse_circuit("h(0); cx(0,1); rx(pi/2, 1); measure(0, 1); measure(1, 0)")
    assert from_list.operations == seed.operations


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (
            '[{"gate": "h", "qubits": [0]}, {"gate": "cx", "qubits": [0]}]',
            "gate 1: gate 'cx' takes",
        ),
        ('[{"gate": "hadamard", "qubits": [0]}]', "gate 0: unknown gate 'hadamard'"),
        ('[{"gate": "h", "qubits": [true]}]', "must be an integer"),
        (
            '[{"gate": "rx", "params": ["1); h(5"], "qubits": [0]}]',
            "must be a number or an expression",
        ),
        ('[{"gate": "h(0); x", "qubits": [0]}]', "is not a gate name"),
        ('{"num_qubits": 2}', "needs a 'gates' list"),
        ("[1, 2]", "expected an object"),
        ("[]", "empty circuit"),
    ],
)
def test_json_errors_name_the_gate(value: str, fragment: str) -> None:
    with pytest.raises(CircuitValidationError) as info:
        parse_circuit(value)
    assert fragment in str(info.value)


def test_invalid_json_has_line_and_column() -> None:
    with pytest.raises(CircuitSyntaxError) as info:
        parse_circuit('[{"gate": "h",\n "qubits": [0,]}]')
    assert info.value.line == 2 and info.value.column is not None
    assert "invalid JSON" in str(info.value)


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=80),
        st.text(alphabet="hcxrpzmeasu()0123456789,;. \n/*-+#[]{}\"'", max_size=80),
        st.builds(lambda t: "OPENQASM 2.0;\n" + t, st.text(max_size=60)),
        st.builds(lambda t: "OPENQASM 3.0;\n" + t, st.text(max_size=60)),
    )
)
def test_parse_never_raises_anything_but_dunes_errors(text: str) -> None:
    try:
        spec = parse_circuit(text)
    except DunesError:
        return
    assert spec.num_qubits >= 1 and spec.operations


_PARAM = st.one_of(
    st.floats(-10, 10, allow_nan=False, allow_infinity=False),
    st.sampled_from([math.pi, -math.pi / 2, 3 * math.pi / 4, math.pi / 16, 0.0, -0.0]),
)


@st.composite
def circuits(draw: st.DrawFn) -> CircuitSpec:
    width = draw(st.integers(1, 6))
    gates = [g for g in GATES.values() if g.num_qubits <= width]
    ops: list[Operation] = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["gate", "gate", "gate", "measure", "barrier"]))
        if kind == "gate":
            gate = draw(st.sampled_from(gates))
            qubits = draw(st.permutations(range(width)))[: gate.num_qubits]
            params = tuple(draw(_PARAM) for _ in range(gate.num_params))
            ops.append(Operation(name=gate.name, qubits=tuple(qubits), params=params))
        elif kind == "measure":
            q = draw(st.integers(0, width - 1))
            ops.append(Operation(name="measure", qubits=(q,), clbits=(draw(st.integers(0, 5)),)))
        else:
            ops.append(Operation(name="barrier", qubits=tuple(range(width))))
    if not any(op.name != "barrier" for op in ops):
        ops.append(Operation(name="h", qubits=(0,)))
    clbits = max((c + 1 for op in ops for c in op.clbits), default=0)
    return CircuitSpec(num_qubits=width, num_clbits=clbits, operations=tuple(ops))


@settings(max_examples=200, deadline=None)
@given(circuits())
def test_seed_round_trip(spec: CircuitSpec) -> None:
    again = parse_circuit(spec.to_seed(), num_qubits=spec.num_qubits)
    assert again == spec
    assert again.sha256() == spec.sha256()


def test_every_gate_and_alias_is_known() -> None:
    for name in GATES:
        assert canonical_name(name.upper()) == name
    assert canonical_name("u3") == "u" and canonical_name("nope") is None
    assert suggest("cnott")[0] == "cnot"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[999999999];\nh q[0];\n', "line 3"),
        ("OPENQASM 3.0;\nqubit[70000] q;\n", "more than 65536 qubits"),
        ("OPENQASM 2.0;\nqreg q[1];\ncreg c[99999999];\n", "more than 65536 bits"),
    ],
)
def test_registers_larger_than_any_circuit_are_refused_before_qiskit_allocates_them(
    text: str, fragment: str
) -> None:
    with pytest.raises(CircuitValidationError, match=fragment):
        parse_circuit(text)


def test_gate_definitions_that_double_per_level_are_refused_at_once() -> None:
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', "gate g0 a { h a; }"]
    lines += [f"gate g{i} a {{ g{i - 1} a; g{i - 1} a; }}" for i in range(1, 40)]
    started = time.monotonic()
    with pytest.raises(CircuitValidationError, match="expands to"):
        parse_circuit("\n".join([*lines, "qreg q[1];", "g39 q[0];"]))
    assert time.monotonic() - started < 10
    small = parse_circuit("\n".join([*lines[:8], "qreg q[1];", "g5 q[0];"]))
    assert len(small.operations) == 32
