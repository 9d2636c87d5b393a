"""dunes.simulate against Qiskit Aer with default options, in one process.

Run: ``python bench/simulate.py [--sizes 18 21 24] [--repeats 3]``
     ``python bench/simulate.py --mixed``             a mixed batch against Aer's automatic method
     ``python bench/simulate.py --large 24 26 28``   end to end, artifact included, against Aer
     ``python bench/simulate.py --memory``           predicted against measured peak memory

Each case runs through ``dunes.quantum.simulator`` (per-circuit method and fusion, statevector and
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


def interleaved(
    a: Callable[[], Any], b: Callable[[], Any], repeats: int, *, warm_up: bool = True
) -> tuple[float, float, float, float]:
    """Median and fastest times of ``a`` and ``b``, run alternately (after one warm-up each)."""
    if warm_up:
        a()
        b()
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(median_time(a, 1))
        tb.append(median_time(b, 1))
    return statistics.median(ta), statistics.median(tb), min(ta), min(tb)


def copy_bandwidth(num_qubits: int, repeats: int = 5) -> float:
    """Bytes per second of a numpy copy of a statevector-sized complex128 array (read + write)."""
    src = np.ones(2**num_qubits, dtype=np.complex128)
    dst = np.empty_like(src)
    seconds = median_time(lambda: np.copyto(dst, src), repeats)
    return 2 * src.nbytes / seconds


Row = tuple[str, int, int, float, float, float, str, float]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[18, 21, 24])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mixed", action="store_true", help="the mixed batch only")
    parser.add_argument("--large", type=int, nargs="*", help="end-to-end rows at these sizes")
    parser.add_argument("--memory", action="store_true", help="peak memory, predicted/measured")
    args = parser.parse_args()
    if args.mixed:
        from simulate_cases import mixed_batch

        mixed_batch(args.repeats)
        return
    if args.large is not None:
        from simulate_cases import large_rows

        large_rows(args.large or [24, 26, 28], args.repeats)
        return
    if args.memory:
        from simulate_cases import memory_rows

        memory_rows()
        return

    inventory = discover()
    limits = QuantumSettings(max_qubits=32)
    rows: list[Row] = []
    bandwidth = {n: copy_bandwidth(n) for n in args.sizes}

    for n in args.sizes:
        for family in (ghz, qft, random):
            qc = family(n)
            spec = from_qiskit(qc)
            options = SimulationOptions(statevector=True)
            aer_qc = qc.copy()
            aer_qc.save_statevector()
            aer = AerSimulator()

            def run_dunes(spec: Any = spec, options: SimulationOptions = options) -> Any:
                result = simulate(spec, options, inventory=inventory, settings=limits)
                assert result.state is not None
                return result

            def run_aer(aer: AerSimulator = aer, aer_qc: QuantumCircuit = aer_qc) -> Any:
                return np.asarray(aer.run(aer_qc).result().get_statevector())

            ours, theirs, fast_ours, fast_theirs = interleaved(
                run_dunes, run_aer, args.repeats, warm_up=n < 22
            )
            result = run_dunes()
            reference = run_aer()
            assert np.allclose(result.state, reference, atol=1e-10), family.__name__
            effective = spec.gate_count * 2 * 16 * 2**n / ours
            choice = f"{result.method}, fusion {'on' if result.fusion else 'off'}"
            share = effective / bandwidth[n]
            row = (family.__name__, n, spec.gate_count, ours, theirs, fast_theirs / fast_ours)
            rows.append((*row, choice, share))
            print_row(rows[-1])

    shots = 10_000
    counts_options = SimulationOptions(shots=shots, seed=5)
    for n, label, simulator in (
        (max(args.sizes), "clifford counts", AerSimulator()),
        (min(args.sizes), "clifford vs sv", AerSimulator(method="statevector")),
    ):
        circuit = clifford(n)
        clifford_spec = from_qiskit(circuit)

        def run_clifford(spec: Any = clifford_spec) -> Any:
            return simulate(spec, counts_options, inventory=inventory, settings=limits)

        def run_counts(sim: AerSimulator = simulator, qc: QuantumCircuit = circuit) -> Any:
            return sim.run(qc, shots=shots, seed_simulator=5).result().get_counts()

        ours, theirs, fast_ours, fast_theirs = interleaved(run_clifford, run_counts, args.repeats)
        method = run_clifford().method
        row = (label, n, clifford_spec.gate_count, ours, theirs, fast_theirs / fast_ours)
        rows.append((*row, method, math.nan))
        print_row(rows[-1])

    print()
    print(
        "| circuit | qubits | gates | dunes s | Aer s | Aer/dunes (median) | Aer/dunes (fastest) "
        "| dunes choice | bandwidth vs numpy copy |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for name, qubits, gates, ours, theirs, fastest, choice, share in rows:
        bw = "" if math.isnan(share) else f"{share:.0%}"
        print(
            f"| {name} | {qubits} | {gates} | {ours:.3f} | {theirs:.3f} | {theirs / ours:.2f}x "
            f"| {fastest:.2f}x | {choice} | {bw} |"
        )
    print()
    for n, value in bandwidth.items():
        print(f"numpy copy, {n} qubits ({16 * 2**n / 2**20:.0f} MiB): {value / 1e9:.1f} GB/s")


def print_row(row: Row) -> None:
    name, qubits, gates, ours, theirs, fastest, choice, _ = row
    print(
        f"{name:16} {qubits:3} qubits {gates:5} gates  dunes {ours:8.3f} s  "
        f"aer {theirs:8.3f} s  ratio {theirs / ours:5.2f}x (fastest {fastest:5.2f}x)  ({choice})",
        flush=True,
    )


if __name__ == "__main__":
    main()
