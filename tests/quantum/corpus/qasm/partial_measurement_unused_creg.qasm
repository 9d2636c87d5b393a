OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[2];
creg unused[2];
h q[0];
cx q[0],q[1];
ry(0.4) q[2];
measure q[1] -> c[1];
