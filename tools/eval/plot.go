package eval

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
)

// PlotRecall writes an SVG line chart of Recall@K against K (each K in
// [Ks]) with one line per model: names[i] labels results[i]. The chart has
// axes with ticks, axis labels, a title and a legend; it is plain SVG 1.1
// with no script or external reference. It panics if the lengths differ.
func PlotRecall(w io.Writer, title string, names []string, results []Result) error {
	if len(names) != len(results) {
		panic("eval.PlotRecall: names and results differ in length")
	}
	const (
		width, height          = 720, 440
		left, right, top, bott = 70, 190, 40, 60
		plotW, plotH           = width - left - right, height - top - bott
	)
	palette := []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}
	maxK := float64(Ks[len(Ks)-1])
	ymax := 0.0
	for _, r := range results {
		for _, k := range Ks {
			ymax = max(ymax, r.Metrics[key("recall", k)])
		}
	}
	step, ytop := ticks(ymax)
	x := func(k float64) float64 { return left + k/maxK*plotW }
	y := func(v float64) float64 { return top + plotH - v/ytop*plotH }

	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	p(`<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	p(`<text x="%d" y="24" font-size="15" text-anchor="middle">%s</text>`+"\n", left+plotW/2, html.EscapeString(title))
	// Grid and y ticks.
	for v := 0.0; v <= ytop+step/2; v += step {
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(v), left+plotW, y(v))
		p(`<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", left-6, y(v), trimFloat(v))
	}
	// X ticks at each K.
	for _, k := range Ks {
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/>`+"\n", x(float64(k)), top+plotH, x(float64(k)), top+plotH+5)
		p(`<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(float64(k)), top+plotH+18, k)
	}
	// Axes and labels.
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top+plotH, left+plotW, top+plotH)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, top+plotH)
	p(`<text x="%d" y="%d" text-anchor="middle">K (list length)</text>`+"\n", left+plotW/2, height-18)
	p(`<text x="18" y="%d" text-anchor="middle" transform="rotate(-90 18 %d)">Recall@K</text>`+"\n", top+plotH/2, top+plotH/2)
	// One line per model, with markers, and its legend entry.
	for i, r := range results {
		color := palette[i%len(palette)]
		p(`<polyline fill="none" stroke="%s" stroke-width="2" points="`, color)
		for j, k := range Ks {
			if j > 0 {
				p(" ")
			}
			p("%.1f,%.1f", x(float64(k)), y(r.Metrics[key("recall", k)]))
		}
		p(`"/>` + "\n")
		for _, k := range Ks {
			v := r.Metrics[key("recall", k)]
			p(`<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s recall@%d = %.4f</title></circle>`+"\n",
				x(float64(k)), y(v), color, html.EscapeString(names[i]), k, v)
		}
		ly := top + 10 + 20*i
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", left+plotW+20, ly, left+plotW+44, ly, color)
		p(`<text x="%d" y="%d" dominant-baseline="middle">%s</text>`+"\n", left+plotW+50, ly, html.EscapeString(names[i]))
	}
	p("</svg>\n")
	return b.Flush()
}

// ticks returns a tick step of 1, 2 or 5 times a power of ten giving about
// five ticks up to at least v, and the top of the axis (a multiple of the
// step ≥ v); v ≤ 0 gives the axis [0, 1].
func ticks(v float64) (step, top float64) {
	if !(v > 0) || math.IsInf(v, 0) {
		return 0.2, 1
	}
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	top = math.Ceil(v/step-1e-9) * step
	return step, top
}

func trimFloat(v float64) string {
	return fmt.Sprint(math.Round(v*1e6) / 1e6)
}
