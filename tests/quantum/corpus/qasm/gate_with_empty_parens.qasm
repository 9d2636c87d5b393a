OPENQASM 2.0;
include "qelib1.inc";
gate flip() a { x a; }
gate bell() a,b { h a; cx a,b; }
qreg q[3];
creg c[3];
flip() q[2];
bell() q[0],q[1];
flip q[0];
measure q -> c;
