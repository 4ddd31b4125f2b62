package nn

import "runtime"

// Forward passes over many rows at once: the ranker scores every candidate
// of a request through the same layers, and in WebAssembly a layer applied
// to four rows together costs about half of four passes (BenchmarkDense).

// rowBlocks reports whether affineRows goes through rows four at a time.
// Natively the one-row kernel is faster (the four-row loop spills
// registers); in wazero the four-row one is about twice as fast, since each
// weight read from linear memory — an address computation, a bounds check
// and a load — then serves four rows. Both give every row bit for bit what
// affine gives it (TestAffine4MatchesAffine), so a module and a native
// build agree. A variable, so that tests run both kernels everywhere.
var rowBlocks = runtime.GOARCH == "wasm"

// affineRows applies affine to each of the rows of x (each n long), into
// the rows of dst (each len(b) long).
func affineRows(dst, w, b, x []float32, n, rows int) {
	out := len(b)
	r := 0
	if rowBlocks {
		for ; r+4 <= rows; r += 4 {
			affine4(dst[r*out:(r+4)*out], w, b, x[r*n:(r+4)*n], n)
		}
	}
	for ; r < rows; r++ {
		affine(dst[r*out:(r+1)*out], w, b, x[r*n:(r+1)*n])
	}
}

// affine4 is affine on four rows: x holds four rows of n inputs, dst four
// rows of len(b) outputs. Each row's sums are formed exactly as affine
// forms them (the same blocks of sixteen, eight, two and one, the same
// parentheses), so each row's result is affine's, bit for bit; what
// differs is that each weight is loaded once for the four rows.
func affine4(dst, w, b, x []float32, n int) {
	out := len(b)
	w = w[:out*n]
	xa, da := x[:n], dst[:out]
	xb, db := x[n:2*n], dst[out:2*out]
	xc, dc := x[2*n:3*n], dst[2*out:3*out]
	xd, dd := x[3*n:4*n], dst[3*out:4*out]
	copy(da, b)
	copy(db, b)
	copy(dc, b)
	copy(dd, b)
	db, dc, dd = db[:len(da)], dc[:len(da)], dd[:len(da)]
	i := 0
	for ; i+16 <= n; i += 16 {
		pa := (*[16]float32)(xa[i:])
		a0, a1, a2, a3, a4, a5, a6, a7 := pa[0], pa[1], pa[2], pa[3], pa[4], pa[5], pa[6], pa[7]
		a8, a9, a10, a11, a12, a13, a14, a15 := pa[8], pa[9], pa[10], pa[11], pa[12], pa[13], pa[14], pa[15]
		pb := (*[16]float32)(xb[i:])
		b0, b1, b2, b3, b4, b5, b6, b7 := pb[0], pb[1], pb[2], pb[3], pb[4], pb[5], pb[6], pb[7]
		b8, b9, b10, b11, b12, b13, b14, b15 := pb[8], pb[9], pb[10], pb[11], pb[12], pb[13], pb[14], pb[15]
		pc := (*[16]float32)(xc[i:])
		c0, c1, c2, c3, c4, c5, c6, c7 := pc[0], pc[1], pc[2], pc[3], pc[4], pc[5], pc[6], pc[7]
		c8, c9, c10, c11, c12, c13, c14, c15 := pc[8], pc[9], pc[10], pc[11], pc[12], pc[13], pc[14], pc[15]
		pd := (*[16]float32)(xd[i:])
		d0, d1, d2, d3, d4, d5, d6, d7 := pd[0], pd[1], pd[2], pd[3], pd[4], pd[5], pd[6], pd[7]
		d8, d9, d10, d11, d12, d13, d14, d15 := pd[8], pd[9], pd[10], pd[11], pd[12], pd[13], pd[14], pd[15]
		for o := range da {
			v := (*[16]float32)(w[o*n+i:])
			w0, w1, w2, w3, w4, w5, w6, w7 := v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
			w8, w9, w10, w11, w12, w13, w14, w15 := v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]
			da[o] += (((w0*a0 + w1*a1) + (w2*a2 + w3*a3)) + ((w4*a4 + w5*a5) + (w6*a6 + w7*a7))) +
				(((w8*a8 + w9*a9) + (w10*a10 + w11*a11)) + ((w12*a12 + w13*a13) + (w14*a14 + w15*a15)))
			db[o] += (((w0*b0 + w1*b1) + (w2*b2 + w3*b3)) + ((w4*b4 + w5*b5) + (w6*b6 + w7*b7))) +
				(((w8*b8 + w9*b9) + (w10*b10 + w11*b11)) + ((w12*b12 + w13*b13) + (w14*b14 + w15*b15)))
			dc[o] += (((w0*c0 + w1*c1) + (w2*c2 + w3*c3)) + ((w4*c4 + w5*c5) + (w6*c6 + w7*c7))) +
				(((w8*c8 + w9*c9) + (w10*c10 + w11*c11)) + ((w12*c12 + w13*c13) + (w14*c14 + w15*c15)))
			dd[o] += (((w0*d0 + w1*d1) + (w2*d2 + w3*d3)) + ((w4*d4 + w5*d5) + (w6*d6 + w7*d7))) +
				(((w8*d8 + w9*d9) + (w10*d10 + w11*d11)) + ((w12*d12 + w13*d13) + (w14*d14 + w15*d15)))
		}
	}
	if i+8 <= n {
		pa := (*[8]float32)(xa[i:])
		a0, a1, a2, a3, a4, a5, a6, a7 := pa[0], pa[1], pa[2], pa[3], pa[4], pa[5], pa[6], pa[7]
		pb := (*[8]float32)(xb[i:])
		b0, b1, b2, b3, b4, b5, b6, b7 := pb[0], pb[1], pb[2], pb[3], pb[4], pb[5], pb[6], pb[7]
		pc := (*[8]float32)(xc[i:])
		c0, c1, c2, c3, c4, c5, c6, c7 := pc[0], pc[1], pc[2], pc[3], pc[4], pc[5], pc[6], pc[7]
		pd := (*[8]float32)(xd[i:])
		d0, d1, d2, d3, d4, d5, d6, d7 := pd[0], pd[1], pd[2], pd[3], pd[4], pd[5], pd[6], pd[7]
		for o := range da {
			v := (*[8]float32)(w[o*n+i:])
			w0, w1, w2, w3, w4, w5, w6, w7 := v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
			da[o] += ((w0*a0 + w1*a1) + (w2*a2 + w3*a3)) + ((w4*a4 + w5*a5) + (w6*a6 + w7*a7))
			db[o] += ((w0*b0 + w1*b1) + (w2*b2 + w3*b3)) + ((w4*b4 + w5*b5) + (w6*b6 + w7*b7))
			dc[o] += ((w0*c0 + w1*c1) + (w2*c2 + w3*c3)) + ((w4*c4 + w5*c5) + (w6*c6 + w7*c7))
			dd[o] += ((w0*d0 + w1*d1) + (w2*d2 + w3*d3)) + ((w4*d4 + w5*d5) + (w6*d6 + w7*d7))
		}
		i += 8
	}
	for ; i+2 <= n; i += 2 {
		a0, a1, b0, b1, c0, c1, d0, d1 := xa[i], xa[i+1], xb[i], xb[i+1], xc[i], xc[i+1], xd[i], xd[i+1]
		for o := range da {
			v := (*[2]float32)(w[o*n+i:])
			w0, w1 := v[0], v[1]
			da[o] += w0*a0 + w1*a1
			db[o] += w0*b0 + w1*b1
			dc[o] += w0*c0 + w1*c1
			dd[o] += w0*d0 + w1*d1
		}
	}
	if i < n {
		a0, b0, c0, d0 := xa[i], xb[i], xc[i], xd[i]
		for o := range da {
			w0 := w[o*n+i]
			da[o] += w0 * a0
			db[o] += w0 * b0
			dc[o] += w0 * c0
			dd[o] += w0 * d0
		}
	}
}

// ForwardRows is Forward on each of the rows of x (rows·In values, row
// major) into the rows of dst (rows·Out values); each row's result is
// Forward's, bit for bit. It panics if a slice is shorter than that.
func (d *Dense) ForwardRows(dst, x []float32, rows int) {
	dst, x = dst[:rows*d.Out], x[:rows*d.In]
	affineRows(dst, d.W, d.B[:d.Out], x, d.In, rows)
	if d.Act == ReLU {
		for o, s := range dst {
			if s < 0 {
				dst[o] = 0
			}
		}
	}
}

// ForwardRows runs the layers in order on the rows of x; acts[l] receives
// layer l's rows (at least rows·Out long each) and the last is returned.
func (m *MLP) ForwardRows(acts [][]float32, x []float32, rows int) []float32 {
	in := x
	for l := range m.Layers {
		m.Layers[l].ForwardRows(acts[l], in, rows)
		in = acts[l][:rows*m.Layers[l].Out]
	}
	return in
}

// ForwardRows is Forward on each of the rows of x0 and x (rows·Dim
// values each), into the rows of dst and lin.
func (c *Cross) ForwardRows(dst, lin, x0, x []float32, rows int) {
	n := rows * c.Dim
	dst, lin, x0, x = dst[:n], lin[:n], x0[:n], x[:n]
	affineRows(lin, c.W, c.B[:c.Dim], x, c.Dim, rows)
	for o, l := range lin {
		dst[o] = x0[o]*l + x[o]
	}
}

// ForwardRows runs the layers on the rows of x0 and returns the last
// output's rows (x0 itself when the stack is empty).
func (s Stack) ForwardRows(outs, lins [][]float32, x0 []float32, rows int) []float32 {
	x := x0
	for l := range s {
		s[l].ForwardRows(outs[l], lins[l], x0, x, rows)
		x = outs[l][:rows*s[l].Dim]
	}
	return x
}
