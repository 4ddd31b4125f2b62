package sim

import (
	"math"

	"github.com/edgerec/edgerec/tools/synth"
)

// Behaviour is how a simulated user treats a list: a cascade-free
// examination model (each position looked at independently) times an
// attraction that only the user's hidden taste decides.
//
//	P(take i at position p) = p^-PositionBias · TakeMax · exp(Beta·(aff(u,i) − best(u)))
//
// where aff(u,i) = <pref_u, θ_i> is synth's affinity and best(u) the
// affinity of an item wholly of the user's favourite topic, so an item the
// user would like most is taken with probability TakeMax when examined,
// and one of a topic the user does not care for hardly ever. The
// examination term is the position-based model of click logs (Craswell et
// al., "An experimental comparison of click position-bias models", WSDM
// 2008): what is shown lower is seen less, whatever it is.
type Behaviour struct {
	// TakeMax is the probability of taking an examined item of the user's
	// favourite topic, in (0, 1].
	TakeMax float64
	// PositionBias is η in p^-η; 0: every position is examined.
	PositionBias float64
	// Beta sharpens the taste; synth's Config.Beta makes users choose as
	// the generator made them.
	Beta float64
}

// DefaultBehaviour is the behaviour Run uses when Config.Behaviour is
// zero: TakeMax 0.5, PositionBias 1 (position 10 seen a tenth as often as
// position 1), Beta that of the data set.
func DefaultBehaviour(ts *synth.Tastes) Behaviour {
	return Behaviour{TakeMax: 0.5, PositionBias: 1, Beta: ts.Beta}
}

// TakeProb returns the probability that user u takes item i shown at
// position (1 first). It panics when u or i is out of range of ts.
func (b Behaviour) TakeProb(ts *synth.Tastes, u, i, position int) float64 {
	exam := math.Pow(float64(position), -b.PositionBias)
	return exam * b.TakeMax * math.Exp(b.Beta*(ts.Affinity(u, i)-ts.Best(u)))
}
