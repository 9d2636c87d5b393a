OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
x q[0];
h q[1];
measure q[0] -> c[2];
measure q[1] -> c[0];
measure q[2] -> c[1];
