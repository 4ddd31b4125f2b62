package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// rankLoss is the value of each of the ranker's losses, written from
// their definitions (lossGrad's comment) for the gradient check.
func rankLoss(loss string, s []float64, y []bool) float64 {
	var pos, neg []float64
	for i, v := range s {
		if y[i] {
			pos = append(pos, v)
		} else {
			neg = append(neg, v)
		}
	}
	var l float64
	switch loss {
	case LossPointwise:
		for i, v := range s {
			if y[i] {
				l -= math.Log(sigmoid(v))
			} else {
				l -= math.Log(1 - sigmoid(v))
			}
		}
		return l / float64(len(s))
	case LossPairwise:
		for _, p := range pos {
			for _, n := range neg {
				l += math.Log1p(math.Exp(-(p - n)))
			}
		}
		return l / float64(len(pos)*len(neg))
	default:
		var z float64
		for _, v := range s {
			z += math.Exp(v)
		}
		for _, p := range pos {
			l -= (p - math.Log(z)) / float64(len(pos))
		}
		return l
	}
}

// TestRankerLossGradients compares lossGrad with central differences of
// each loss on random lists with one to three positives.
func TestRankerLossGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, loss := range Losses {
		for range 20 {
			n := 3 + rng.IntN(8)
			s, y := make([]float64, n), make([]bool, n)
			for i := range s {
				s[i] = rng.NormFloat64() * 2
			}
			for range 1 + rng.IntN(3) {
				y[rng.IntN(n-1)] = true
			}
			d := lossGrad(loss, s, y, nil)
			const h = 1e-6
			for i := range s {
				v := s[i]
				s[i] = v + h
				up := rankLoss(loss, s, y)
				s[i] = v - h
				down := rankLoss(loss, s, y)
				s[i] = v
				assert.InDelta(t, (up-down)/(2*h), d[i], 1e-6, "%s: ∂L/∂s_%d", loss, i)
			}
		}
	}
}
