"""How much memory a simulation needs, and whether a device has it."""

from __future__ import annotations

from typing import Literal

from dunes.devices import Device
from dunes.errors import InsufficientMemoryError

Method = Literal["statevector", "density_matrix", "stabilizer", "matrix_product_state"]
Precision = Literal["double", "single"]


def bytes_per_amplitude(precision: Precision) -> int:
    return 16 if precision == "double" else 8


def state_bytes(
    num_qubits: int, *, method: Method = "statevector", precision: Precision = "double"
) -> int:
    """Bytes of the simulator state: 2^n amplitudes (4^n for a density matrix).

    Stabilizer and MPS states grow polynomially for the circuits they suit; count them as small.
    """
    if method == "density_matrix":
        return bytes_per_amplitude(precision) * 4**num_qubits
    if method in ("stabilizer", "matrix_product_state"):
        return 64 * num_qubits * num_qubits
    return bytes_per_amplitude(precision) * 2**num_qubits


def format_bytes(count: float) -> str:
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
) -> int:
    """Return the bytes needed, or raise when ``device`` cannot hold them.

    ``available`` overrides the device's free memory (e.g. the sum over several GPUs).

    Raises:
        InsufficientMemoryError: names what is needed and what there is.
    """
    needed = state_bytes(num_qubits, method=method, precision=precision)
    have = int((device.memory_free if available is None else available) * fraction)
    if needed > have:
        unit = "4^n" if method == "density_matrix" else "2^n"
        raise InsufficientMemoryError(
            f"a {num_qubits}-qubit {method} state needs {format_bytes(needed)} "
            f"({unit} × {bytes_per_amplitude(precision)} bytes, {precision} precision) but "
            f"{device.id} has {format_bytes(have)} usable "
            f"({fraction:.0%} of {format_bytes(device.memory_free if available is None else available)} free)",
            field="circuit",
        )
    return needed
