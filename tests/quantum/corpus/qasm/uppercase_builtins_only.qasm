OPENQASM 2.0;
gate hh a { U(pi/2,0,pi) a; }
gate cnot c,t { CX c,t; }
qreg q[3];
creg c[3];
hh q[0];
cnot q[0],q[1];
U(pi/3,pi/5,0) q[2];
CX q[2],q[0];
U(0,0,pi/4) q[1];
hh q[1];
measure q -> c;
