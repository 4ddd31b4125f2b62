#include "textflag.h"

// func subScaledAVX(y, x []float64, u float64)
//
// For i < len(y): y[i] = y[i] − u·x[i], the product rounded before the
// subtraction (VMULPD then VSUBPD, no FMA): eight a pass, then four, then
// one.
TEXT ·subScaledAVX(SB), NOSPLIT, $0-56
	MOVQ         y_base+0(FP), DI
	MOVQ         y_len+8(FP), CX
	MOVQ         x_base+24(FP), SI
	VBROADCASTSD u+48(FP), Y0

loop8:
	CMPQ    CX, $8
	JL      loop4
	VMULPD  (SI), Y0, Y1
	VMULPD  32(SI), Y0, Y2
	VMOVUPD (DI), Y3
	VMOVUPD 32(DI), Y4
	VSUBPD  Y1, Y3, Y3
	VSUBPD  Y2, Y4, Y4
	VMOVUPD Y3, (DI)
	VMOVUPD Y4, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $8, CX
	JMP     loop8

loop4:
	CMPQ    CX, $4
	JL      loop1
	VMULPD  (SI), Y0, Y1
	VMOVUPD (DI), Y3
	VSUBPD  Y1, Y3, Y3
	VMOVUPD Y3, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $4, CX

loop1:
	TESTQ  CX, CX
	JZ     done
	VMOVSD (SI), X1
	VMULSD X0, X1, X1
	VMOVSD (DI), X3
	VSUBSD X1, X3, X3
	VMOVSD X3, (DI)
	ADDQ   $8, SI
	ADDQ   $8, DI
	DECQ   CX
	JMP    loop1

done:
	VZEROUPPER
	RET
