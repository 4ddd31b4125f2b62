package report

import (
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
)

// maxPlotPositions is how many positions the plot draws.
const maxPlotPositions = 20

// palette colours the arms in order.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"}

// WriteSVG draws r as an SVG image: on the left each arm's take rate with
// its 95 % interval, on the right the take rate by position (the first
// 20) for each arm.
func WriteSVG(w io.Writer, r *Report) error {
	const width, height, pad = 980, 420, 70
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)

	// The scale: the highest interval bound of any arm or position.
	top, positions := 0.0, 1
	for _, a := range r.Arms {
		_, hi := interval(r, a)
		top = math.Max(top, hi)
		for _, c := range a.ByPosition {
			if p, err := strconv.Atoi(c.Key); err == nil && p >= 1 && p <= maxPlotPositions {
				top = math.Max(top, c.Rate.Rate)
				positions = max(positions, p)
			}
		}
	}
	top = niceCeil(top)
	panel := func(x0 int, title string) (func(float64) float64, int, int) {
		x1, y0, y1 := x0+width/2-2*pad+20, pad, height-pad
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", x0, pad-25, html.EscapeString(title))
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", x0, y1, x1, y1)
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", x0, y0, x0, y1)
		y := func(v float64) float64 { return float64(y1) - v/top*float64(y1-y0) }
		for i := 0; i <= 4; i++ {
			v := top * float64(i) / 4
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", x0, y(v), x1, y(v))
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s%%</text>`+"\n", x0-5, y(v)+4, strconv.FormatFloat(100*v, 'g', 4, 64))
		}
		return y, x1, y1
	}

	title := "take rate by arm (95% CI)"
	if r.Bootstrap > 0 {
		title = "take rate by arm (95% CI, bootstrap over users)"
	}
	y, x1, y1 := panel(pad, title)
	if n := len(r.Arms); n > 0 {
		slot := float64(x1-pad) / float64(n)
		for i, a := range r.Arms {
			cx := float64(pad) + slot*(float64(i)+0.5)
			col := palette[i%len(palette)]
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" opacity="0.6"/>`+"\n", cx-slot/4, y(a.Rate.Rate), slot/2, float64(y1)-y(a.Rate.Rate), col)
			lo, hi := interval(r, a)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black" stroke-width="2"/>`+"\n", cx, y(lo), cx, y(hi))
			for _, v := range []float64{lo, hi} {
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black" stroke-width="2"/>`+"\n", cx-6, y(v), cx+6, y(v))
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", cx, y1+16, html.EscapeString(a.Name))
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s%% of %d</text>`+"\n", cx, y1+30, pct(a.Rate.Rate), a.Impressions)
		}
	}

	x0 := width/2 + pad/2
	y, x1, y1 = panel(x0, "take rate by position")
	step := float64(x1-x0) / float64(positions)
	every := max(1, positions/10)
	for p := 1; p <= positions; p += every {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", float64(x0)+step*(float64(p)-0.5), y1+16, p)
	}
	for i, a := range r.Arms {
		var pts []string
		for _, c := range a.ByPosition {
			p, err := strconv.Atoi(c.Key)
			if err != nil || p < 1 || p > positions {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", float64(x0)+step*(float64(p)-0.5), y(c.Rate.Rate)))
		}
		col := palette[i%len(palette)]
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), col)
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n", x1-80, pad+16*i, col, html.EscapeString(a.Name))
	}
	if len(r.Comparisons) > 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#333">%s</text>`+"\n", pad, height-12, html.EscapeString(r.Comparisons[0].Verdict))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// interval is the interval drawn for a's rate: the bootstrap's when the
// report has one, else Wilson's.
func interval(r *Report, a *Arm) (lo, hi float64) {
	if r.Bootstrap > 0 {
		return a.BootLow, a.BootHigh
	}
	return a.Low, a.High
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (at least 0.01).
func niceCeil(v float64) float64 {
	if v <= 0.01 {
		return 0.01
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*e {
			return m * e
		}
	}
	return 10 * e
}
