"""Quantum circuits in, Aer simulations out."""

from __future__ import annotations

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
