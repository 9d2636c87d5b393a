OPENQASM 2.0;
include "qelib1.inc";
// three-qubit bit-flip code: syndrome into syn, corrections by register value
qreg d[3];
qreg anc[2];
creg syn[2];
creg out[3];
ry(0.6) d[0];
cx d[0],d[1];
cx d[0],d[2];
x d[1]; // the error
cx d[0],anc[0];
cx d[1],anc[0];
cx d[1],anc[1];
cx d[2],anc[1];
measure anc[0] -> syn[0];
measure anc[1] -> syn[1];
if(syn==1) x d[0];
if(syn==3) x d[1];
if(syn==2) x d[2];
cx d[0],d[2];
cx d[0],d[1];
measure d -> out;
