"""dunes.simulate against Qiskit Aer with default options, in one process.

Run: ``python bench/simulate.py [--sizes 18 21 24] [--repeats 3]``

Each case runs through ``dunes.quantum.simulate`` (per-circuit method and fusion, statevector and
result encoding included) and through ``AerSimulator()`` with default options and a
``save_statevector`` instruction (the statevector read back as a numpy array). Runs alternate
between the two sides and the median is reported. The effective memory bandwidth of the dunes
run (gates x bytes read and written per pass / time) is printed next to a numpy copy of an array
of the same size, measured in the same run.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.random import random_circuit
from qiskit_aer import AerSimulator

from dunes.config import QuantumSettings
from dunes.devices import discover
from dunes.quantum import SimulationOptions, simulate
from dunes.quantum.parse import from_qiskit


def ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n, name=f"ghz{n}")
    qc.h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    return qc


def qft(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n, name=f"qft{n}")
    for j in reversed(range(n)):
        qc.h(j)
        for k in reversed(range(j)):
            qc.cp(math.pi / 2 ** (j - k), k, j)
    for i in range(n // 2):
        qc.swap(i, n - 1 - i)
    return qc


def random(n: int, depth: int = 8) -> QuantumCircuit:
    """Qiskit's random circuit, rewritten to gates both sides know (Aer lacks xx_plus_yy)."""
    qc = random_circuit(n, depth, max_operands=2, seed=1000 + n)
    return transpile(qc, AerSimulator(), optimization_level=0, seed_transpiler=0)


def clifford(n: int, layers: int = 12, seed: int = 7) -> QuantumCircuit:
    """Random Clifford layers (h, s, sx, then cx on shuffled pairs), measured."""
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n, name=f"clifford{n}")
    for _ in range(layers):
        for q in range(n):
            getattr(qc, rng.choice(["h", "s", "sx"]))(q)
        order = rng.permutation(n)
        for a, b in zip(order[::2], order[1::2], strict=False):
            qc.cx(int(a), int(b))
    qc.measure_all()
    return qc


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(a: Callable[[], Any], b: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median times of ``a`` and ``b``, run alternately after one warm-up each."""
    a()
    b()
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(median_time(a, 1))
        tb.append(median_time(b, 1))
    return statistics.median(ta), statistics.median(tb)


def copy_bandwidth(num_qubits: int, repeats: int = 5) -> float:
    """Bytes per second of a numpy copy of a statevector-sized complex128 array (read + write)."""
    src = np.ones(2**num_qubits, dtype=np.complex128)
    dst = np.empty_like(src)
    seconds = median_time(lambda: np.copyto(dst, src), repeats)
    return 2 * src.nbytes / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[18, 21, 24])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    inventory = discover()
    limits = QuantumSettings(max_qubits=32)
    rows: list[tuple[str, int, int, float, float, str, float]] = []
    bandwidth = {n: copy_bandwidth(n) for n in args.sizes}

    for n in args.sizes:
        for family in (ghz, qft, random):
            qc = family(n)
            spec = from_qiskit(qc)
            options = SimulationOptions()
            aer_qc = qc.copy()
            aer_qc.save_statevector()
            aer = AerSimulator()

            def run_dunes(spec: Any = spec, options: SimulationOptions = options) -> Any:
                result = simulate(spec, options, inventory=inventory, settings=limits)
                assert result.state is not None
                return result

            def run_aer(aer: AerSimulator = aer, aer_qc: QuantumCircuit = aer_qc) -> Any:
                return np.asarray(aer.run(aer_qc).result().get_statevector())

            ours, theirs = interleaved(run_dunes, run_aer, args.repeats)
            result = run_dunes()
            reference = run_aer()
            assert np.allclose(result.state, reference, atol=1e-10), family.__name__
            state_bytes = 16 * 2**n
            effective = spec.gate_count * 2 * state_bytes / ours
            choice = f"{result.method}, fusion {'on' if result.fusion else 'off'}"
            rows.append(
                (
                    family.__name__,
                    n,
                    spec.gate_count,
                    ours,
                    theirs,
                    choice,
                    effective / bandwidth[n],
                )
            )
            print_row(rows[-1], flush=True)

    n = max(args.sizes)
    qc = clifford(n)
    spec = from_qiskit(qc)
    options = SimulationOptions(shots=1000, seed=5)
    aer = AerSimulator()
    ours, theirs = interleaved(
        lambda: simulate(spec, options, inventory=inventory, settings=limits),
        lambda: aer.run(qc, shots=1000, seed_simulator=5).result().get_counts(),
        args.repeats,
    )
    result = simulate(spec, options, inventory=inventory, settings=limits)
    rows.append(("clifford counts", n, spec.gate_count, ours, theirs, result.method, math.nan))
    print_row(rows[-1], flush=True)
    sv = AerSimulator(method="statevector")
    ours_sv, theirs_sv = interleaved(
        lambda: simulate(spec, options, inventory=inventory, settings=limits),
        lambda: sv.run(qc, shots=1000, seed_simulator=5).result().get_counts(),
        args.repeats,
    )
    rows.append(("clifford vs sv", n, spec.gate_count, ours_sv, theirs_sv, result.method, math.nan))
    print_row(rows[-1], flush=True)

    print()
    print(
        "| circuit | qubits | gates | dunes s | Aer default s | Aer/dunes | dunes choice "
        "| bandwidth vs numpy copy |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for row in rows:
        name, qubits, gates, ours, theirs, choice, share = row
        bw = "" if math.isnan(share) else f"{share:.0%}"
        print(
            f"| {name} | {qubits} | {gates} | {ours:.3f} | {theirs:.3f} | {theirs / ours:.2f}x "
            f"| {choice} | {bw} |"
        )
    print()
    for n, value in bandwidth.items():
        print(f"numpy copy, {n} qubits ({16 * 2**n / 2**20:.0f} MiB): {value / 1e9:.1f} GB/s")


def print_row(row: tuple[str, int, int, float, float, str, float], *, flush: bool) -> None:
    name, qubits, gates, ours, theirs, choice, _ = row
    print(
        f"{name:16} {qubits:3} qubits {gates:5} gates  dunes {ours:8.3f} s  "
        f"aer {theirs:8.3f} s  ratio {theirs / ours:5.2f}x  ({choice})",
        flush=flush,
    )


if __name__ == "__main__":
    main()
