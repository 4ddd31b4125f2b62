package synth

import "github.com/edgerec/edgerec/tools/dataset"

// Tastes are the latent variables behind a generated data set: each
// user's preference over the topics and each item's topic vector θ (see
// the package doc), so that a simulator can let the data set's users
// choose among the items a recommender shows them as the generator made
// them choose.
type Tastes struct {
	// Topics is the number of latent topics K; Beta the generator's
	// affinity scale (Config.Beta).
	Topics int
	Beta   float64

	pref  []float64 // [u*K + t]: the preference at the end of the log
	theta []float64 // [i*K + t]
}

// GenerateTastes is Generate that also returns the latent tastes. Users
// and items are indexed as in the Dataset (Users[u], Items[i]).
func GenerateTastes(cfg Config) (*dataset.Dataset, *Tastes, error) {
	g, err := generate(cfg)
	if err != nil {
		return nil, nil, err
	}
	k := g.k
	ts := &Tastes{Topics: k, Beta: cfg.Beta, pref: make([]float64, len(g.p1)), theta: make([]float64, cfg.Items*k)}
	// pref(t) = (1-λ)·p1 + λ·p2 with λ = Drift at the end of the log: the
	// taste the users have when a simulation starts after it.
	for j := range ts.pref {
		ts.pref[j] = (1-cfg.Drift)*g.p1[j] + cfg.Drift*g.p2[j]
	}
	for i, cl := range g.itemClass {
		th := ts.theta[i*k : (i+1)*k]
		a, b := g.classMain[cl], g.classSecond[cl]
		if b < 0 {
			th[a] = 1
		} else {
			th[a], th[b] = mixedMain, 1-mixedMain
		}
	}
	return g.ds, ts, nil
}

// Affinity returns <pref_u, θ_i>, in [0, 1]: how much user u likes item
// i's topics at the end of the log; the generator's choice weight has the
// factor exp(Beta·Affinity). It panics when u or i is out of range.
func (ts *Tastes) Affinity(u, i int) float64 {
	k := ts.Topics
	p, th := ts.pref[u*k:(u+1)*k], ts.theta[i*k:(i+1)*k]
	s := 0.0
	for t := range k {
		s += p[t] * th[t]
	}
	return s
}

// Best returns the highest affinity user u can have for any item: that of
// an item wholly of u's favourite topic.
func (ts *Tastes) Best(u int) float64 {
	k := ts.Topics
	best := 0.0
	for _, v := range ts.pref[u*k : (u+1)*k] {
		best = max(best, v)
	}
	return best
}
