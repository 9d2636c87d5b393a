OPENQASM 2.0;
include "qelib1.inc";
gate rot(theta,phi) a { rz(phi) a; ry(theta) a; rz(-phi) a; }
gate zz(angle) a,b { cx a,b; rz(angle) b; cx a,b; }
gate entangle(t) a,b { h a; zz(t) a,b; rot(t/2,pi/7) b; }
qreg q[3];
creg c[3];
rot(0.7,0.3) q[0];
entangle(pi/3) q[1],q[2];
zz(1.1) q[0],q[2];
h q;
measure q -> c;
