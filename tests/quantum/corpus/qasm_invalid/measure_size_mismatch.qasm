OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[2];
h q[0];
measure q -> c;
