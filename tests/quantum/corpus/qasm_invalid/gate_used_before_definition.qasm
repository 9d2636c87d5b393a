OPENQASM 2.0;
include "qelib1.inc";
qreg q[1];
later q[0];
gate later a { x a; }
