OPENQASM 2.0; // version
include "qelib1.inc"; // standard gates
qreg q[2]; // two qubits
creg c[2]; // two bits
rx(pi/3) q[0]; // tilt
cx q[0],q[1]; // entangle
// a full-line comment between statements
sdg q[1]; // phase
h q[1];
measure q -> c; // read out
// trailing comment at the end of the file