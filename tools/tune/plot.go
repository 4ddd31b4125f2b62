package tune

import (
	"bufio"
	"fmt"
	"html"
	"io"
)

// Plot writes an SVG chart of the search: one point per trial at (trial
// order, validation Recall@20), coloured by rung, the best trial ringed.
// It is plain SVG 1.1 with no script or external reference.
func Plot(w io.Writer, title string, r *Result) error {
	const (
		width, height          = 720, 420
		left, right, top, bott = 70, 130, 40, 50
		plotW, plotH           = width - left - right, height - top - bott
	)
	palette := []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"}
	ymax := 0.0
	rungs := 0
	for _, t := range r.Trials {
		ymax = max(ymax, t.ValRecall)
		rungs = max(rungs, t.Rung+1)
	}
	if ymax == 0 {
		ymax = 1
	}
	ytop := ymax * 1.1
	n := max(len(r.Trials), 2)
	x := func(i int) float64 { return left + float64(i)/float64(n-1)*plotW }
	y := func(v float64) float64 { return top + plotH - v/ytop*plotH }

	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	p(`<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	p(`<text x="%d" y="24" font-size="15" text-anchor="middle">%s</text>`+"\n", left+plotW/2, html.EscapeString(title))
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top+plotH, left+plotW, top+plotH)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, top+plotH)
	for k := 0; k <= 4; k++ {
		v := ytop * float64(k) / 4
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(v), left+plotW, y(v))
		p(`<text x="%d" y="%.1f" text-anchor="end">%.3f</text>`+"\n", left-6, y(v)+4, v)
	}
	p(`<text x="%d" y="%d" text-anchor="middle">trial (in training order)</text>`+"\n", left+plotW/2, height-14)
	p(`<text x="18" y="%d" text-anchor="middle" transform="rotate(-90 18 %d)">validation Recall@20</text>`+"\n", top+plotH/2, top+plotH/2)
	for i, t := range r.Trials {
		c := palette[t.Rung%len(palette)]
		p(`<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>trial %d rung %d: %s</title></circle>`+"\n",
			x(i), y(t.ValRecall), c, t.ID, t.Rung, html.EscapeString(Describe(t.Params)))
		if t.ID == r.Best.ID && t.Rung == r.Best.Rung {
			p(`<circle cx="%.1f" cy="%.1f" r="8" fill="none" stroke="black"/>`+"\n", x(i), y(t.ValRecall))
		}
	}
	for k := 0; k < rungs; k++ {
		ly := top + 10 + 18*k
		p(`<circle cx="%d" cy="%d" r="4" fill="%s"/>`+"\n", left+plotW+16, ly, palette[k%len(palette)])
		p(`<text x="%d" y="%d">rung %d</text>`+"\n", left+plotW+26, ly+4, k)
	}
	p("</svg>\n")
	return b.Flush()
}
