"""How much memory a simulation takes at its peak, per method, and whether a device has it.

The figures are what a run really allocates, measured with ``bench/simulate.py --memory`` (peak
resident memory of a fresh process against its resident memory before the run), not only the
size of the state: Aer converts a single-precision state to complex128 when it hands it over,
copies the state when it is saved before measurements that follow, and sampling and counts take
room of their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from dunes.constants import Precision
from dunes.devices import Device
from dunes.errors import InsufficientMemoryError
from dunes.quantum.circuit import CircuitSpec, walk
from dunes.quantum.gates import GATES

Method = Literal["statevector", "density_matrix", "stabilizer", "matrix_product_state"]

#: Room a run needs besides its state: Aer's own buffers, chunked post-processing (top
#: amplitudes, the streamed ``.npy``), Python objects of the result.
RUN_OVERHEAD_BYTES = 16 * 2**20
#: Bytes one distinct outcome takes in a counts dictionary, besides its bitstring.
COUNT_ENTRY_BYTES = 120


def bytes_per_amplitude(precision: Precision) -> int:
    return 16 if precision == "double" else 8


def state_bytes(
    num_qubits: int, *, method: Method = "statevector", precision: Precision = "double"
) -> int:
    """Bytes of the simulator state itself: 2^n amplitudes (4^n for a density matrix).

    Stabilizer tableaus take about n^2/2 bytes; a matrix product state depends on its bond
    dimensions (see :func:`mps_bound`), here counted at bond dimension 1.
    """
    if method == "density_matrix":
        return bytes_per_amplitude(precision) << (2 * num_qubits)
    if method == "stabilizer":
        return (2 * num_qubits) * (2 * num_qubits + 1) // 8 + 1
    if method == "matrix_product_state":
        return 2 * bytes_per_amplitude(precision) * num_qubits
    return bytes_per_amplitude(precision) << num_qubits


def statevector_peak(
    num_qubits: int, *, precision: Precision, save_state: bool, save_before_measure: bool
) -> int:
    """Peak bytes of an Aer statevector run.

    Saved as the last instruction, Aer moves the state into the result (no copy); saved before
    measurements, it copies it. Qiskit wraps a saved single-precision state as complex128, a
    second array twice the size of the state.
    """
    state = state_bytes(num_qubits, precision=precision)
    peak = state
    if save_state:
        if save_before_measure:
            peak += state
        if precision == "single":
            peak += 2 * state
    return peak + RUN_OVERHEAD_BYTES


def density_matrix_peak(num_qubits: int, *, precision: Precision) -> int:
    """Peak bytes of an Aer density-matrix run that saves only the diagonal (probabilities)."""
    return (
        state_bytes(num_qubits, method="density_matrix", precision=precision)
        + (8 << num_qubits)
        + RUN_OVERHEAD_BYTES
    )


def counts_bytes(shots: int, num_bits: int, support: int | None = None) -> int:
    """Room for a counts dictionary: at most one entry per shot or per possible outcome."""
    entries = shots if support is None else min(shots, support)
    return entries * (num_bits + COUNT_ENTRY_BYTES)


@dataclass(frozen=True)
class MpsBound:
    """An upper bound on a matrix product state: its bonds, the largest, and its bytes."""

    max_bond: int
    cut: int
    bytes: int
    bonds: tuple[int, ...] = ()


def mps_bound(spec: CircuitSpec, *, precision: Precision = "double", cap: int = 2**40) -> MpsBound:
    """Bound the bond dimensions of ``spec`` as a matrix product state over qubits 0..n-1.

    The bond between qubits ``i`` and ``i+1`` starts at 1 and can be multiplied, by each gate
    whose qubits lie on both sides, by at most that gate's operator Schmidt rank (2 for
    controlled and Pauli-rotation gates, 4 for swaps); it never exceeds ``2^min(i+1, n-i-1)``.
    Tight for chains and 1-D brickwork (a GHZ chain keeps every bond at 2); loose for gates
    between distant qubits, which Aer brings together with swaps.
    """
    n = spec.num_qubits
    log_bond = [0.0] * max(n - 1, 0)
    for op in walk(spec.operations):
        if op.name not in GATES or len(op.qubits) < 2:
            continue
        rank_bits = math.log2(GATES[op.name].schmidt_rank)
        for cut in range(min(op.qubits), max(op.qubits)):
            log_bond[cut] = min(log_bond[cut] + rank_bits, min(cut + 1, n - cut - 1))
    if not log_bond:
        return MpsBound(max_bond=1, cut=0, bytes=state_bytes(n, method="matrix_product_state"))
    bonds = [min(2 ** round(b), cap) for b in log_bond]
    per_entry = bytes_per_amplitude(precision)
    edges = [1, *bonds, 1]
    # Each site holds two chi_left x chi_right matrices; Aer keeps the singular values too.
    total = sum(2 * per_entry * edges[i] * edges[i + 1] for i in range(n)) + 8 * sum(bonds)
    widest = max(range(len(bonds)), key=lambda i: bonds[i])
    return MpsBound(max_bond=bonds[widest], cut=widest, bytes=total, bonds=tuple(bonds))


def mps_peak(bound: MpsBound) -> int:
    """Peak bytes of an MPS run: the state, a two-site block and its SVD while a gate applies."""
    work = 4 * 16 * bound.max_bond * bound.max_bond * 4
    return bound.bytes + work + RUN_OVERHEAD_BYTES


def format_bytes(count: float) -> str:
    if count >= 2**60:
        return f"{count / 2**50:.3g} PiB"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(count) < 1024 or unit == "PiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} PiB"


def check_fits(
    num_qubits: int,
    device: Device,
    *,
    method: Method = "statevector",
    precision: Precision = "double",
    fraction: float = 0.8,
    available: int | None = None,
    needed: int | None = None,
) -> int:
    """Return the bytes needed, or raise when ``device`` cannot hold them.

    ``available`` overrides the device's free memory (e.g. the sum over several GPUs);
    ``needed`` overrides the state size (a predicted peak).

    Raises:
        InsufficientMemoryError: names what is needed and what there is.
    """
    if needed is None:
        needed = state_bytes(num_qubits, method=method, precision=precision)
    free = device.memory_free if available is None else available
    have = int(free * fraction)
    if needed > have:
        raise InsufficientMemoryError(
            f"a {num_qubits}-qubit {method} run needs {format_bytes(needed)} at its peak "
            f"({precision} precision) but {device.id} has {format_bytes(have)} usable "
            f"({fraction:.0%} of {format_bytes(free)} free)",
            field="circuit",
        )
    return needed
