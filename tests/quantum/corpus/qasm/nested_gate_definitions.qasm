OPENQASM 2.0;
include "qelib1.inc";
gate my_h a { u2(0,pi) a; }
gate my_cz a,b { my_h b; cx a,b; my_h b; }
gate my_ccz a,b,c { my_h c; ccx a,b,c; my_h c; }
gate layer(t) a,b,c { my_h a; my_h b; my_h c; my_cz a,b; my_ccz a,b,c; rz(t) c; }
gate two_layers(t1,t2) a,b,c { layer(t1) a,b,c; layer(t2) c,b,a; }
qreg q[3];
creg c[3];
two_layers(0.4,1.3) q[0],q[1],q[2];
my_h q[0];
measure q -> c;
