OPENQASM 2.0;
include "qelib1.inc";
// |a> |b> |0> -> |a> |a+b mod 4> with a in superposition
gate maj a,b,c { cx c,b; cx c,a; ccx a,b,c; }
gate uma a,b,c { ccx a,b,c; cx c,a; cx a,b; }
qreg cin[1];
qreg a[2];
qreg b[2];
qreg cout[1];
creg sum[3];
creg ain[2];
h a[0];
h a[1];
x b[0];
maj cin[0],b[0],a[0];
maj a[0],b[1],a[1];
cx a[1],cout[0];
uma a[0],b[1],a[1];
uma cin[0],b[0],a[0];
measure b[0] -> sum[0];
measure b[1] -> sum[1];
measure cout[0] -> sum[2];
measure a -> ain;
