"""Circuits and waits shared by the orchestration tests."""

from __future__ import annotations

import time
from collections.abc import Callable


def slow_circuit(num_qubits: int = 18, layers: int = 60) -> str:
    """A statevector circuit that takes a while (non-Clifford, no fusion shortcuts)."""
    return "; ".join(
        f"rx({0.1 * (i + 1)},{q})" if (i + q) % 2 else f"cx({q},{(q + 1) % num_qubits})"
        for i in range(layers)
        for q in range(num_qubits)
    )


def poll(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Wait until ``predicate()`` holds; fail the test with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.2)
