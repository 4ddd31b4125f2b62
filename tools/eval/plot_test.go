package eval

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

func TestPlotRecall(t *testing.T) {
	res := []Result{
		{Metrics: map[string]float64{"recall@10": 0.05, "recall@20": 0.09, "recall@50": 0.17}},
		{Metrics: map[string]float64{"recall@10": 0.08, "recall@20": 0.13, "recall@50": 0.24}},
	}
	var b bytes.Buffer
	if err := PlotRecall(&b, "Recall@K <test>", []string{"pop", "ease&co"}, res); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "<svg") {
		t.Fatalf("output starts %q, want <svg", out[:min(20, len(out))])
	}
	// Well-formed XML, with the escaped names in the legend.
	d := xml.NewDecoder(strings.NewReader(out))
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("not well-formed: %v", err)
		}
	}
	for _, want := range []string{"ease&amp;co", "Recall@K &lt;test&gt;", "<polyline", "K (list length)", ">0.25<"} {
		if !strings.Contains(out, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestTicks(t *testing.T) {
	cases := []struct{ v, step, top float64 }{
		{0.24, 0.05, 0.25},
		{0.5, 0.1, 0.5},
		{0.013, 0.005, 0.015},
		{0, 0.2, 1},
	}
	for _, tc := range cases {
		step, top := ticks(tc.v)
		if abs(step-tc.step) > 1e-12 || abs(top-tc.top) > 1e-12 {
			t.Errorf("ticks(%v) = %v, %v; want %v, %v", tc.v, step, top, tc.step, tc.top)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
