OPENQASM 2;
include "qelib1.inc";
qreg q[3];
creg c[3];
h q[0];
cx q[0],q[1];
ry(pi/3) q[2];
cz q[1],q[2];
measure q -> c;
