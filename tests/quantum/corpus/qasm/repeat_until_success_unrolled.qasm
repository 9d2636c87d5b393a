OPENQASM 2.0;
include "qelib1.inc";
// two attempts at a coin flip that must come up 1, retried once
qreg q[2];
creg a1[1];
creg a2[1];
creg out[1];
h q[1];
measure q[1] -> a1[0];
if(a1==1) x q[0];
reset q[1];
if(a1==0) h q[1];
measure q[1] -> a2[0];
if(a2==1) x q[0];
measure q[0] -> out[0];
