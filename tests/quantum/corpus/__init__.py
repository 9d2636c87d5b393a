"""Reference answers and a corpus of circuits for checking the simulator against Qiskit."""
