"""Quantum circuits in, Aer simulations out.

The names below load on first use, so that reading a result (``dunes.quantum.result``) does not
import qiskit. Processes that run qiskit in worker threads call ``ensure_native_allocator`` from
their main thread first (``dunes.services.Services`` and the workers do).
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dunes.quantum.circuit import CircuitSpec, Operation
    from dunes.quantum.options import SimulationOptions
    from dunes.quantum.parse import parse_circuit
    from dunes.quantum.result import SimulationResult
    from dunes.quantum.simulator import simulate, simulate_many

__all__ = [
    "CircuitSpec",
    "Operation",
    "SimulationOptions",
    "SimulationResult",
    "ensure_native_allocator",
    "parse_circuit",
    "simulate",
    "simulate_many",
]

_HOMES = {
    "CircuitSpec": "dunes.quantum.circuit",
    "Operation": "dunes.quantum.circuit",
    "SimulationOptions": "dunes.quantum.options",
    "parse_circuit": "dunes.quantum.parse",
    "SimulationResult": "dunes.quantum.result",
    "simulate": "dunes.quantum.simulator",
    "simulate_many": "dunes.quantum.simulator",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def ensure_native_allocator() -> None:
    """Load qiskit's Rust core (mimalloc) on the main thread before any worker thread does.

    When qiskit is first loaded in a worker thread and that thread exits, a later thread can
    crash in ``mi_thread_init`` (segfault, seen with qiskit 2.6 in the REST and MCP thread
    pools).
    """
    if threading.current_thread() is threading.main_thread():
        from qiskit import QuantumCircuit

        QuantumCircuit(1)
