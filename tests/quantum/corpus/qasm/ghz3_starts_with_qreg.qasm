qreg q[3];
creg c[3];
U(pi/2,0,pi) q[0];
CX q[0],q[1];
CX q[1],q[2];
measure q -> c;
