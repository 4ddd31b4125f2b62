package quant

import "fmt"

// PQRows is a matrix stored as product-quantization codes, one code of
// PQ.M bytes per row: what a compact bundle keeps of the query tower's
// history rows (bundles/FORMAT.md §8.7). The query tower only sums a few
// dozen of them per request (nn.Rows), so a row is decoded where it is
// added.
type PQRows struct {
	PQ    *PQ
	Codes []byte // Len() codes of PQ.M bytes
}

// Len returns the number of rows (nn.Rows).
func (r *PQRows) Len() int {
	if r.PQ == nil || r.PQ.M == 0 {
		return 0
	}
	return len(r.Codes) / r.PQ.M
}

// Width returns the rows' width (nn.Rows).
func (r *PQRows) Width() int { return r.PQ.Dim }

// Decode writes row i's reconstruction into dst (len(dst) = Width()).
func (r *PQRows) Decode(dst []float32, i int) {
	m := r.PQ.M
	r.PQ.Decode(dst, r.Codes[i*m:(i+1)*m])
}

// AddRow computes dst += w·row(i) (nn.Rows) without a buffer: each
// subspace's centroid is added where it lies.
//
// AddRow panics if i is out of range or len(dst) != Width().
func (r *PQRows) AddRow(dst []float32, i int, w float32) {
	p := r.PQ
	m, s := p.M, p.Sub()
	if len(dst) != p.Dim {
		panic("quant: PQRows width mismatch")
	}
	for sp, k := range r.Codes[i*m : (i+1)*m] {
		c := p.centroid(sp, int(k))
		d := dst[sp*s : (sp+1)*s]
		for j, v := range c {
			d[j] += w * v
		}
	}
}

// Validate reports whether the quantizer is valid and the codes are whole
// rows.
func (r *PQRows) Validate() error {
	if r.PQ == nil {
		return fmt.Errorf("pq rows: quantizer missing")
	}
	if err := r.PQ.Validate(); err != nil {
		return err
	}
	if len(r.Codes)%r.PQ.M != 0 {
		return fmt.Errorf("pq rows: %d code bytes, not whole codes of %d", len(r.Codes), r.PQ.M)
	}
	return nil
}
