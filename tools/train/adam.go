package train

import "math"

// Adam hyperparameters (Kingma & Ba, "Adam: A Method for Stochastic
// Optimization", ICLR 2015, Algorithm 1).
const (
	beta1   = 0.9
	beta2   = 0.999
	epsilon = 1e-8
)

// adam keeps the moment estimates of one parameter tensor.
type adam struct {
	m, v []float32
}

func newAdam(n int) *adam { return &adam{m: make([]float32, n), v: make([]float32, n)} }

// step applies one Adam update to w[lo:hi] with gradient g (len hi−lo) at
// step t (1-based), with decoupled weight decay wd (AdamW: Loshchilov &
// Hutter, "Decoupled Weight Decay Regularization", ICLR 2019):
//
//	m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//	w ← w − lr·(m̂/(√v̂ + ε) + wd·w),  m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ)
//
// Updating only the rows of an embedding table that a batch touched gives
// the "lazy" Adam commonly used for sparse embeddings.
func (a *adam) step(w []float32, lo int, g []float32, lr, wd float32, t int) {
	alpha, decay := adamScale(lr, wd, t)
	a.apply(w, lo, g, alpha, decay)
}

// adamScale returns step's bias-corrected step size alpha = lr·√(1−β2ᵗ)/(1−β1ᵗ)
// and its decay factor 1 − lr·wd, the same for every element of a step.
func adamScale(lr, wd float32, t int) (alpha, decay float32) {
	c1 := 1 - math.Pow(beta1, float64(t))
	c2 := 1 - math.Pow(beta2, float64(t))
	return float32(float64(lr) * math.Sqrt(c2) / c1), 1 - lr*wd
}

// apply is step with adamScale's factors.
func (a *adam) apply(w []float32, lo int, g []float32, alpha, decay float32) {
	m, v := a.m[lo:lo+len(g)], a.v[lo:lo+len(g)]
	w = w[lo : lo+len(g)]
	for i, gi := range g {
		m[i] = beta1*m[i] + (1-beta1)*gi
		v[i] = beta2*v[i] + (1-beta2)*gi*gi
		w[i] = w[i]*decay - alpha*m[i]/(float32(math.Sqrt(float64(v[i])))+epsilon)
	}
}
