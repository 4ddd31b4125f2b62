#include "textflag.h"

// func kernel4x16(k int, a *float32, sai, sap uintptr, b *float32, ldb uintptr, c *float32, ldc uintptr, alpha, beta float32)
//
// For i < 4, j < 16, with strides in bytes:
//
//	acc = Σ_{p<k} A(i,p)·B(p,j),  A(i,p) at a + i·sai + p·sap,  B(p,j) at b + p·ldb + 4j
//	C(i,j) at c + i·ldc + 4j:  C = alpha·acc (beta = 0, C not read)  or  alpha·acc + beta·C
//
// Each product is rounded before it is added (VMULPS then VADDPS, no FMA).
TEXT ·kernel4x16(SB), NOSPLIT, $0-72
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ sai+16(FP), R8
	MOVQ sap+24(FP), R12
	MOVQ b+32(FP), DX
	MOVQ ldb+40(FP), R13
	LEAQ (SI)(R8*2), DI // row 2; rows 1 and 3 are (SI)(R8*1) and (DI)(R8*1)

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	TESTQ  CX, CX
	JZ     scale

loop:
	VMOVUPS      (DX), Y8
	VMOVUPS      32(DX), Y9
	VBROADCASTSS (SI), Y10
	VMULPS       Y8, Y10, Y11
	VADDPS       Y11, Y0, Y0
	VMULPS       Y9, Y10, Y12
	VADDPS       Y12, Y1, Y1
	VBROADCASTSS (SI)(R8*1), Y13
	VMULPS       Y8, Y13, Y14
	VADDPS       Y14, Y2, Y2
	VMULPS       Y9, Y13, Y15
	VADDPS       Y15, Y3, Y3
	VBROADCASTSS (DI), Y10
	VMULPS       Y8, Y10, Y11
	VADDPS       Y11, Y4, Y4
	VMULPS       Y9, Y10, Y12
	VADDPS       Y12, Y5, Y5
	VBROADCASTSS (DI)(R8*1), Y13
	VMULPS       Y8, Y13, Y14
	VADDPS       Y14, Y6, Y6
	VMULPS       Y9, Y13, Y15
	VADDPS       Y15, Y7, Y7
	ADDQ         R12, SI
	ADDQ         R12, DI
	ADDQ         R13, DX
	DECQ         CX
	JNZ          loop

scale:
	VBROADCASTSS alpha+64(FP), Y10
	VMULPS       Y10, Y0, Y0
	VMULPS       Y10, Y1, Y1
	VMULPS       Y10, Y2, Y2
	VMULPS       Y10, Y3, Y3
	VMULPS       Y10, Y4, Y4
	VMULPS       Y10, Y5, Y5
	VMULPS       Y10, Y6, Y6
	VMULPS       Y10, Y7, Y7

	MOVQ c+48(FP), BX
	MOVQ ldc+56(FP), R14
	LEAQ (BX)(R14*2), R15 // row 2
	MOVL beta+68(FP), AX
	ANDL $0x7fffffff, AX
	JZ   store

	VBROADCASTSS beta+68(FP), Y11
	VMULPS       (BX), Y11, Y12
	VADDPS       Y12, Y0, Y0
	VMULPS       32(BX), Y11, Y12
	VADDPS       Y12, Y1, Y1
	VMULPS       (BX)(R14*1), Y11, Y12
	VADDPS       Y12, Y2, Y2
	VMULPS       32(BX)(R14*1), Y11, Y12
	VADDPS       Y12, Y3, Y3
	VMULPS       (R15), Y11, Y12
	VADDPS       Y12, Y4, Y4
	VMULPS       32(R15), Y11, Y12
	VADDPS       Y12, Y5, Y5
	VMULPS       (R15)(R14*1), Y11, Y12
	VADDPS       Y12, Y6, Y6
	VMULPS       32(R15)(R14*1), Y11, Y12
	VADDPS       Y12, Y7, Y7

store:
	VMOVUPS Y0, (BX)
	VMOVUPS Y1, 32(BX)
	VMOVUPS Y2, (BX)(R14*1)
	VMOVUPS Y3, 32(BX)(R14*1)
	VMOVUPS Y4, (R15)
	VMOVUPS Y5, 32(R15)
	VMOVUPS Y6, (R15)(R14*1)
	VMOVUPS Y7, 32(R15)(R14*1)
	VZEROUPPER
	RET
