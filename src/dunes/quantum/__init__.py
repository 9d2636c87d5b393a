"""Quantum circuits in, Aer simulations out."""

from __future__ import annotations

import threading

from dunes.quantum.circuit import CircuitSpec, Operation
from dunes.quantum.options import SimulationOptions
from dunes.quantum.parse import parse_circuit
from dunes.quantum.result import SimulationResult
from dunes.quantum.simulate import simulate, simulate_many

__all__ = [
    "CircuitSpec",
    "Operation",
    "SimulationOptions",
    "SimulationResult",
    "parse_circuit",
    "simulate",
    "simulate_many",
]


def _init_native_allocator() -> None:
    """Load qiskit's Rust core (mimalloc) on the main thread before any worker thread does.

    When qiskit is first loaded in a worker thread and that thread exits, a later thread can
    crash in ``mi_thread_init`` (segfault, seen with qiskit 2.6 in the REST and MCP thread
    pools). Every dunes process imports this package from its main thread first.
    """
    if threading.current_thread() is threading.main_thread():
        from qiskit import QuantumCircuit

        QuantumCircuit(1)


_init_native_allocator()
