OPENQASM 2.0;
include "qelib1.inc";
qreg data[2];
qreg data[3];
