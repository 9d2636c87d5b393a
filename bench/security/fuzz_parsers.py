"""Hypothesis over every parser a request reaches: circuits (seed, OpenQASM 2 and 3, JSON),
parametric circuits for sweeps, MAML documents, graph imports. A parser may refuse (a
DunesError naming what is wrong); anything else (another exception, a hang) is a crash and is
printed with its input.

    python bench/security/fuzz_parsers.py --examples 2000     # per target, 6 targets
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunes.errors import DunesError

SEED_PARTS = [
    "h(0)",
    "cx(0,1)",
    "rx(pi/2, 1)",
    "measure",
    "if(c==1) x(0)",
    "reset(2)",
    "barrier",
    ";",
    "\n",
    "(",
    ")",
    ",",
    "ccx(0,1,2)",
    "u(1,2,3,0)",
    "gphase(0.3)",
    "c[0]",
    "!c[1]",
    "{",
    "}",
    "else",
    "1e999",
    "nan",
    "-",
    "//",
    "#",
]
QASM_PARTS = [
    "OPENQASM 2.0;\n",
    "OPENQASM 3.0;\n",
    'include "qelib1.inc";\n',
    'include "stdgates.inc";\n',
    "qreg q[3];\n",
    "creg c[3];\n",
    "qubit[2] q;\n",
    "bit[2] c;\n",
    "h q[0];\n",
    "cx q[0],q[1];\n",
    "measure q -> c;\n",
    "c = measure q;\n",
    "if(c==1) x q[0];\n",
    "if (c[0]) { x q[1]; } else { h q[1]; }\n",
    "gate g a { h a; }\n",
    "g q[2];\n",
    "opaque o q;\n",
    "rz(pi/4) q[1];\n",
    "input float[64] theta;\n",
    "qreg q[999999999];\n",
    "q[",
    "];",
    "\ufeff",
]
MAML_PARTS = [
    "---\n",
    "maml_version: 2.0.0\n",
    "permissions: {execute: true}\n",
    "```bash {name=a}\n",
    "```circuit {name=c}\n",
    "h(0); cx(0,1)\n",
    "```\n",
    "## History\n",
    "### x run y ok signed\n",
    "| a | b |\n",
    "encrypted: x\n",
    "signature:\n  alg: ML-DSA-65\n",
    "!!python/object:os.system x\n",
    "&a [*a]\n",
]


def soup(parts: list[str]) -> st.SearchStrategy[str]:
    piece = st.one_of(st.sampled_from(parts), st.text(max_size=8))
    return st.lists(piece, max_size=30).map("".join)


def qasm_programs() -> st.SearchStrategy[str]:
    """Mostly well-formed programs (a header, registers, statements), some with junk mixed in."""
    header = st.sampled_from(
        [
            'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\n',
            'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nbit[3] c;\n',
            "qreg q[3];\ncreg c[3];\n",
        ]
    )
    gate = st.sampled_from(["h", "x", "sx", "t", "rz(pi/3)", "u(1,2,3)", "cx", "ccx", "swap"])
    qubit = st.integers(0, 4).map(lambda i: f"q[{i}]")
    statement = st.one_of(
        st.tuples(gate, st.lists(qubit, min_size=1, max_size=3)).map(
            lambda t: f"{t[0]} {','.join(t[1])};\n"
        ),
        st.sampled_from(QASM_PARTS),
        st.text(max_size=6),
    )
    return st.tuples(header, st.lists(statement, max_size=20)).map(lambda t: t[0] + "".join(t[1]))


def json_gates() -> st.SearchStrategy[str]:
    value = st.recursive(
        st.one_of(
            st.none(), st.booleans(), st.integers(-5, 70000), st.floats(), st.text(max_size=6)
        ),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(
                st.sampled_from(
                    [
                        "gate",
                        "qubits",
                        "params",
                        "clbits",
                        "condition",
                        "if_else",
                        "then",
                        "else",
                        "num_qubits",
                        "gates",
                        "name",
                        "x",
                    ]
                ),
                children,
                max_size=5,
            ),
        ),
        max_leaves=20,
    )
    gate = st.fixed_dictionaries(
        {
            "gate": st.sampled_from(["h", "cx", "rx", "measure", "x", "foo"]),
            "qubits": st.lists(st.integers(-1, 5), min_size=1, max_size=3),
        },
        optional={
            "params": st.lists(st.floats(allow_nan=True), max_size=2),
            "condition": value,
            "clbits": st.lists(st.integers(-1, 4), max_size=2),
        },
    )
    return st.one_of(st.lists(gate, min_size=1, max_size=8), value).map(json.dumps)


def graph_exports() -> st.SearchStrategy[str]:
    node = st.fixed_dictionaries(
        {
            "id": st.text(max_size=10),
            "category": st.sampled_from(["entity", "activity", "x"]),
            "kind": st.sampled_from(["circuit", "job", "task", "y"]),
            "data": st.just({}),
        }
    )
    graph = st.fixed_dictionaries(
        {
            "directed": st.booleans(),
            "nodes": st.lists(node, max_size=4),
            "links": st.lists(
                st.dictionaries(
                    st.sampled_from(["source", "target", "relation"]), st.text(max_size=10)
                ),
                max_size=4,
            ),
        }
    )
    xml = soup(
        [
            '<?xml version="1.0"?>',
            "<graphml>",
            "</graphml>",
            "<node id='a'/>",
            "<edge/>",
            '<!DOCTYPE x [<!ENTITY e "x">]>',
            "&e;",
            "<graph>",
        ]
    )
    return st.one_of(graph.map(json.dumps), xml, soup(["quantum_graph:", "\n", "  nodes:", "- a"]))


def run(
    name: str, strategy: st.SearchStrategy[str], target: Callable[[str], object], examples: int
) -> tuple[int, int, list[str]]:
    counts = {"ok": 0, "refused": 0}
    crashes: list[str] = []

    @settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def check(text: str) -> None:
        try:
            target(text)
            counts["ok"] += 1
        except DunesError:
            counts["refused"] += 1
        except Exception:  # a crash: the point of this run is to find these
            crashes.append(f"{name}: {text!r}\n{traceback.format_exc(limit=3)}")

    check()
    return counts["ok"], counts["refused"], crashes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=2500, help="per target")
    args = parser.parse_args()

    import tempfile

    from dunes.beluga import import_text, open_store
    from dunes.config import get_settings
    from dunes.maml import validate_document
    from dunes.quantum import parse_circuit
    from dunes.quantum.sweep import parse_parametric

    store = open_store(get_settings(data_dir=tempfile.mkdtemp(prefix="dunes-fuzz-")))
    targets = [
        ("seed notation", soup(SEED_PARTS), lambda t: parse_circuit(t)),
        ("OpenQASM 2/3", st.one_of(qasm_programs(), soup(QASM_PARTS)), lambda t: parse_circuit(t)),
        ("JSON gates", json_gates(), lambda t: parse_circuit(t)),
        (
            "sweep circuits",
            st.one_of(
                soup([*SEED_PARTS, "theta", "2*phi", "input float[64] t;"]),
                json_gates(),
                qasm_programs(),
            ),
            parse_parametric,
        ),
        ("MAML", soup(MAML_PARTS), validate_document),
        ("graph import", graph_exports(), lambda t: import_text(store, t)),
    ]
    print("| parser | examples | parsed | refused with a named error | crashes |")
    print("|---|---|---|---|---|")
    started = time.monotonic()
    total, all_crashes = 0, []
    for name, strategy, target in targets:
        ok, refused, crashes = run(name, strategy, target, args.examples)
        total += ok + refused + len(crashes)
        all_crashes += crashes
        print(
            f"| {name} | {ok + refused + len(crashes)} | {ok} | {refused} | {len(crashes)} |",
            flush=True,
        )
    store.close()
    print(f"\n{total} examples in {time.monotonic() - started:.0f} s; {len(all_crashes)} crashes")
    for crash in all_crashes[:20]:
        print("\n" + crash)


if __name__ == "__main__":
    main()
