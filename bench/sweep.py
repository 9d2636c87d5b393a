"""Parameter sweeps side by side: dunes's batched statevector against Aer, one run.

    python bench/sweep.py                       # B in 100 1000 10000, n in 4 10 16
    python bench/sweep.py --sizes 1000 --qubits 10

The circuit is the hardware-efficient ansatz of the issue: ``layers`` layers of ry and rz on every
qubit (2 parameters per qubit per layer) and a chain of cx; every path computes <Z...Z> for every
binding (the same numbers, checked to 1e-10). Aer "per circuit" binds and runs each circuit alone
(timed on at most 300 and reported per circuit); Aer "parameter_binds" runs them all in one call.
The floor is memory bandwidth: each fused gate reads and writes every state once.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer import AerSimulator

from dunes.quantum.sweep import parse_parametric, sweep


def ansatz_text(n: int, layers: int) -> tuple[str, int]:
    ops, k = [], 0
    for _ in range(layers):
        for q in range(n):
            ops += [f"ry(t{k}, {q})", f"rz(t{k + 1}, {q})"]
            k += 2
        ops += [f"cx({q}, {q + 1})" for q in range(n - 1)]
    return "; ".join(ops), k


def ansatz_qiskit(n: int, layers: int) -> tuple[QuantumCircuit, ParameterVector]:
    k = 2 * n * layers
    params = ParameterVector("t", k)
    qc = QuantumCircuit(n)
    j = 0
    for _ in range(layers):
        for q in range(n):
            qc.ry(params[j], q)
            qc.rz(params[j + 1], q)
            j += 2
        for q in range(n - 1):
            qc.cx(q, q + 1)
    qc.save_expectation_value(SparsePauliOp("Z" * n), range(n))
    return qc, params


def bandwidth() -> float:
    """Bytes a second a large copy moves (read + write), best of five."""
    a = np.ones(1 << 25, dtype=complex)  # 512 MiB
    b = np.empty_like(a)
    best = min(_timed(lambda: np.copyto(b, a)) for _ in range(5))
    return 2 * a.nbytes / best


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--qubits", type=int, nargs="+", default=[4, 10, 16])
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--device", default="cpu", help="dunes's device: cpu or cuda:N.")
    args = parser.parse_args()
    gpu = args.device.startswith("cuda") and "GPU" in AerSimulator().available_devices()
    sim = AerSimulator(method="statevector", device="GPU" if gpu else "CPU")
    print(f"dunes on {args.device}, Aer on {'GPU' if gpu else 'CPU'}")
    floor_bps = bandwidth()
    rows = []
    for n in args.qubits:
        text, k = ansatz_text(n, args.layers)
        circuit = parse_parametric(text)
        qc, params = ansatz_qiskit(n, args.layers)
        compiled = transpile(qc, sim)
        label = "Z" * n
        warm = {f"t{i}": [0.1] for i in range(k)}
        sweep(circuit, warm, observables=[label], device=args.device)  # warm up
        sim.run(compiled, parameter_binds=[{p: [0.1] for p in params}]).result()
        fused_passes = n * args.layers + (n - 1) * args.layers  # one 2x2 per qubit per layer, cx
        for size in args.sizes:
            rng = np.random.default_rng(size + n)
            values = rng.uniform(0, 2 * np.pi, (k, size))
            bindings = {f"t{i}": values[i].tolist() for i in range(k)}
            started = time.perf_counter()
            ours = sweep(circuit, bindings, observables=[label], device=args.device)
            ours = ours.expectation_values[label]
            t_ours = time.perf_counter() - started
            started = time.perf_counter()
            result = sim.run(
                compiled, parameter_binds=[{p: values[i] for i, p in enumerate(params)}]
            ).result()
            t_binds = time.perf_counter() - started
            aer = [float(np.real(result.data(i)["expectation_value"])) for i in range(size)]
            assert np.allclose(ours, aer, atol=1e-10), "dunes and Aer disagree"
            few = min(size, 300)
            started = time.perf_counter()
            for b in range(few):
                bound = compiled.assign_parameters({p: values[i, b] for i, p in enumerate(params)})
                sim.run(bound).result()
            t_each = (time.perf_counter() - started) / few * size
            floor = floor_bps / (fused_passes * (1 << n) * 16)
            rows.append((n, size, size / t_ours, size / t_each, size / t_binds, floor))
            print(f"n={n} B={size}: done", flush=True)
    print(f"\n{os.cpu_count()} cores, memory bandwidth {floor_bps / 1e9:.1f} GB/s (copy)\n")
    print(
        "| n | B | dunes circuits/s | Aer per circuit | Aer parameter_binds | dunes / Aer binds "
        "| dunes / Aer per circuit | bandwidth floor circuits/s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n, size, ours, each, binds, floor in rows:
        print(
            f"| {n} | {size:,} | {ours:,.0f} | {each:,.0f} | {binds:,.0f} | {ours / binds:.2f}x "
            f"| {ours / each:.1f}x | {floor:,.0f} |"
        )


if __name__ == "__main__":
    main()
