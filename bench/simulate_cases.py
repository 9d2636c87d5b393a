"""The rows of ``bench/simulate.py --mixed | --large | --memory`` (see that file)."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import random_clifford
from qiskit_aer import AerSimulator

from dunes.config import QuantumSettings
from dunes.devices import discover
from dunes.quantum import SimulationOptions, simulate, simulate_many
from dunes.quantum.parse import from_qiskit

SHOTS = 4096


# --- circuits ----------------------------------------------------------------------------------


def ghz(n: int, *, rotations: bool = False, measure: bool = True) -> QuantumCircuit:
    qc = QuantumCircuit(n, name=f"ghz{n}{'+ry' if rotations else ''}")
    qc.h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    if rotations:
        for i in range(n):
            qc.ry(0.05 * (i + 1), i)
    if measure:
        qc.measure_all()
    return qc


def brickwork(n: int, depth: int, seed: int = 3) -> QuantumCircuit:
    """Shallow 1-D brickwork of random single-qubit rotations and cx: low entanglement."""
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n, name=f"brickwork{n}x{depth}")
    for layer in range(depth):
        for q in range(n):
            qc.u(*rng.uniform(0, np.pi, 3), q)
        for q in range(layer % 2, n - 1, 2):
            qc.cx(q, q + 1)
    qc.measure_all()
    return qc


def clifford(n: int, seed: int = 11) -> QuantumCircuit:
    qc = random_clifford(n, seed=seed).to_circuit()
    qc.name = f"clifford{n}"
    qc.measure_all()
    return qc


def dense(n: int, depth: int = 8) -> QuantumCircuit:
    """Qiskit's random circuit on Aer's gate set, measured: no structure to exploit."""
    qc = random_circuit(n, depth, max_operands=2, seed=1000 + n)
    qc = transpile(qc, AerSimulator(), optimization_level=0, seed_transpiler=0)
    qc.name = f"random{n}"
    qc.measure_all()
    return qc


def teleport_chain(hops: int) -> QuantumCircuit:
    """A qubit teleported along a chain: mid-circuit measurements and classical corrections."""
    n = 2 * hops + 1
    qc = QuantumCircuit(n, 2 * hops + 1, name=f"teleport{hops}")
    qc.ry(0.7, 0)
    qc.rz(0.3, 0)
    for hop in range(hops):
        src, a, b = 2 * hop, 2 * hop + 1, 2 * hop + 2
        qc.h(a)
        qc.cx(a, b)
        qc.cx(src, a)
        qc.h(src)
        qc.measure(src, 2 * hop)
        qc.measure(a, 2 * hop + 1)
        with qc.if_test((qc.clbits[2 * hop + 1], 1)):
            qc.x(b)
        with qc.if_test((qc.clbits[2 * hop], 1)):
            qc.z(b)
    qc.measure(n - 1, 2 * hops)
    return qc


def repeat_until_success(rounds: int, n: int = 8) -> QuantumCircuit:
    """Mid-circuit measured ancilla, reset and reused, with corrections: dynamic all through."""
    qc = QuantumCircuit(n, rounds + n, name=f"rus{rounds}")
    for q in range(1, n):
        qc.h(q)
    for r in range(rounds):
        qc.h(0)
        qc.t(0)
        qc.cx(0, 1 + r % (n - 1))
        qc.h(0)
        qc.measure(0, r)
        with qc.if_test((qc.clbits[r], 1)):
            qc.s(1 + r % (n - 1))
        qc.reset(0)
    for q in range(n):
        qc.measure(q, rounds + q)
    return qc


def mixed_circuits() -> list[QuantumCircuit]:
    """Clifford, low-entanglement, dense and dynamic circuits, the kinds users bring."""
    return [
        ghz(300),
        ghz(100),
        clifford(24),
        clifford(100),
        ghz(60, rotations=True),
        brickwork(40, 4),
        brickwork(24, 6),
        dense(18),
        dense(20),
        teleport_chain(4),
        repeat_until_success(10),
    ]


# --- timing helpers ----------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def aer_automatic(qc: QuantumCircuit, shots: int) -> tuple[float, str, dict[str, int] | None]:
    """Aer as its users run it: the automatic method, one run per circuit."""
    simulator = AerSimulator()
    try:
        seconds, result = timed(lambda: simulator.run(qc, shots=shots, seed_simulator=7).result())
    except Exception as exc:  # Aer raises for circuits it cannot place
        return math.nan, f"refused: {str(exc).strip().splitlines()[-1][:60]}", None
    if not result.success:
        return math.nan, "refused: " + str(result.status)[:60], None
    method = result.results[0].metadata.get("method", "?")
    counts = {k.replace(" ", ""): v for k, v in result.get_counts(0).items()}
    return seconds, method, counts


def total_variation(p: dict[str, float], q: dict[str, float]) -> float:
    keys = set(p) | set(q)
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in keys)


def frequencies(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()}


# --- the mixed batch ---------------------------------------------------------------------------


def mixed_batch(repeats: int) -> None:
    """Per-circuit choice against Aer's automatic method on the same circuits and shots."""
    inventory = discover()
    circuits = mixed_circuits()
    specs = [from_qiskit(qc) for qc in circuits]
    options = SimulationOptions(shots=SHOTS, seed=7)
    simulate_many(specs[:1], options, inventory=inventory)  # imports and first-use setup
    rows = []
    for qc, spec in zip(circuits, specs, strict=True):
        ours: list[float] = []
        theirs: list[float] = []
        aer_method = ""
        result = None
        aer_counts = None
        for _ in range(repeats):
            seconds, result = timed(lambda spec=spec: simulate(spec, options, inventory=inventory))
            ours.append(seconds)
            seconds, aer_method, aer_counts = aer_automatic(qc, SHOTS)
            theirs.append(seconds)
        assert result is not None and result.counts is not None
        agreement = ""
        exact = simulate(spec, SimulationOptions(), inventory=inventory)
        whole = exact.exact and exact.top_amplitudes is None  # the full distribution, not a top
        if exact.probabilities and whole and len(exact.probabilities) <= 4096:
            dunes_tv = total_variation(frequencies(result.counts), exact.probabilities)
            aer_tv = (
                total_variation(frequencies(aer_counts), exact.probabilities)
                if aer_counts is not None
                else math.nan
            )
            agreement = f"{dunes_tv:.3f} / {aer_tv:.3f}"
        row = (
            qc.name,
            qc.num_qubits,
            f"{result.method} ({result.backend.split()[0]})",
            statistics.median(ours),
            aer_method,
            statistics.median(theirs),
            agreement,
        )
        rows.append(row)
        print(row, flush=True)
    both = [r for r in rows if not math.isnan(r[5])]
    ours_total = sum(r[3] for r in both)
    theirs_total = sum(r[5] for r in both)
    print()
    print(f"mixed batch, {SHOTS} shots each, median of {repeats} runs per circuit")
    print()
    print(
        "| circuit | qubits | dunes method | dunes s | Aer automatic | Aer s | Aer/dunes "
        "| TV to exact (dunes / Aer) |"
    )
    print("|---|---:|---|---:|---|---:|---:|---:|")
    for name, n, method, ours_s, aer_method, theirs_s, tv in rows:
        ratio = "" if math.isnan(theirs_s) else f"{theirs_s / ours_s:.1f}x"
        aer_s = "" if math.isnan(theirs_s) else f"{theirs_s:.3f}"
        print(
            f"| {name} | {n} | {method} | {ours_s:.3f} | {aer_method} | {aer_s} | {ratio} | {tv} |"
        )
    print(
        f"| **batch (both ran)** | | | **{ours_total:.2f}** | | **{theirs_total:.2f}** "
        f"| **{theirs_total / ours_total:.1f}x** | |"
    )


# --- 24 to 28 qubits end to end ----------------------------------------------------------------


def large_rows(sizes: list[int], repeats: int) -> None:
    """simulate() with its result encoding and the .npy artifact, against Aer's own run, and
    against Aer followed by ``np.save`` (what keeping the state costs a user without dunes)."""
    inventory = discover()
    rows = []
    with tempfile.TemporaryDirectory(prefix="dunes-bench-", dir=os.environ.get("TMPDIR")) as tmp:
        artifacts = Path(tmp)
        for n in sizes:
            qc = dense(n)
            qc.remove_final_measurements()
            spec = from_qiskit(qc)
            aer_qc = qc.copy()
            aer_qc.save_statevector()
            options = SimulationOptions(statevector=True)
            times: dict[str, list[float]] = {"dunes": [], "aer": [], "aer+save": [], "inside": []}

            def run_aer(save: bool, qc: QuantumCircuit = aer_qc) -> None:
                state = np.asarray(AerSimulator().run(qc).result().get_statevector())
                if save:
                    np.save(artifacts / "user.npy", state)

            def run_dunes(spec: Any = spec, options: SimulationOptions = options) -> float:
                result = simulate(spec, options, inventory=inventory, artifacts_dir=artifacts)
                assert result.artifact is not None
                return float(result.timings["aer_s"])

            order = ["aer", "dunes", "aer+save"]
            for rep in range(repeats):
                for side in order[rep % 3 :] + order[: rep % 3]:
                    for old in artifacts.glob("*.npy"):
                        old.unlink()
                    if side == "dunes":
                        seconds, inside = timed(run_dunes)
                        times["inside"].append(inside)
                    else:
                        seconds, _ = timed(lambda save=side == "aer+save": run_aer(save))
                    times[side].append(seconds)
                print(f"n={n} {times}", flush=True)
            rows.append((n, spec.gate_count, times))
    print()
    print(f"end to end, median of {repeats} runs taking turns (statevector kept, .npy written)")
    print()
    print(
        "| qubits | gates | state | dunes s | of which Aer s | Aer alone s | dunes/Aer "
        "| Aer + np.save s | dunes/(Aer + np.save) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, gates, times in rows:
        med = {key: statistics.median(values) for key, values in times.items()}
        print(
            f"| {n} | {gates} | {16 * 2**n / 2**30:.2f} GiB | {med['dunes']:.2f} | "
            f"{med['inside']:.2f} | {med['aer']:.2f} | {med['dunes'] / med['aer']:.3f}x | "
            f"{med['aer+save']:.2f} | {med['dunes'] / med['aer+save']:.3f}x |"
        )


# --- peak memory -------------------------------------------------------------------------------

_MEMORY_CASES = [
    # (label, qubits, options, circuit kind)
    ("statevector double", 24, {"statevector": True}, "dense"),
    ("statevector double", 26, {"statevector": True}, "dense"),
    ("statevector double, probabilities only", 26, {"statevector": False}, "dense"),
    ("statevector single", 26, {"statevector": True, "precision": "single"}, "dense"),
    ("statevector double, 10k shots + state", 25, {"statevector": True, "shots": 10000}, "dense"),
    ("statevector double, 10k shots", 25, {"shots": 10000}, "dense"),
    ("density matrix double", 12, {"method": "density_matrix"}, "dense"),
    ("density matrix single", 13, {"method": "density_matrix", "precision": "single"}, "dense"),
    ("matrix product state", 60, {"shots": 1000}, "ghz+ry"),
    ("matrix product state", 40, {"shots": 1000}, "brickwork"),
    ("stabilizer (stim)", 1000, {"shots": 10000}, "ghz"),
]


def memory_rows() -> None:
    """Each case in a fresh process: peak resident memory over the run against the prediction."""
    print("| case | qubits | predicted | measured | measured/predicted |")
    print("|---|---:|---:|---:|---:|")
    for label, n, options, kind in _MEMORY_CASES:
        payload = json.dumps({"n": n, "options": options, "kind": kind})
        out = subprocess.run(
            [sys.executable, __file__, payload], capture_output=True, text=True, check=True
        ).stdout
        predicted, measured = json.loads(out.strip().splitlines()[-1])
        print(
            f"| {label} | {n} | {predicted / 2**20:.1f} MiB | {measured / 2**20:.1f} MiB | "
            f"{measured / predicted:.2f} |",
            flush=True,
        )


def _one_memory_case(payload: str) -> None:
    import resource

    from dunes.quantum.backend import aer_info
    from dunes.quantum.options import plan_simulation

    case = json.loads(payload)
    n, kind = case["n"], case["kind"]
    qc = {
        "dense": lambda: _unmeasured(dense(n)),
        "ghz+ry": lambda: ghz(n, rotations=True),
        "brickwork": lambda: brickwork(n, 4),
        "ghz": lambda: ghz(n),
    }[kind]()
    spec = from_qiskit(qc)
    options = SimulationOptions(**case["options"])
    simulate(from_qiskit(ghz(3)), SimulationOptions(shots=10))  # load Aer and stim first
    inventory = discover()
    limits = QuantumSettings()
    plan = plan_simulation(spec, options, inventory=inventory, aer=aer_info(), limits=limits)
    with open("/proc/self/statm", encoding="ascii") as handle:
        before = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    with tempfile.TemporaryDirectory(prefix="dunes-bench-") as tmp:
        simulate(spec, options, inventory=inventory, settings=limits, artifacts_dir=Path(tmp))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps([plan.required_bytes, peak - before]))


def _unmeasured(qc: QuantumCircuit) -> QuantumCircuit:
    qc.remove_final_measurements()
    return qc


if __name__ == "__main__":
    _one_memory_case(sys.argv[1])
