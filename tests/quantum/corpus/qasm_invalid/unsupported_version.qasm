OPENQASM 4.0;
include "qelib1.inc";
qreg q[1];
