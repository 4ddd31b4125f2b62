package api

import (
	"fmt"
	"testing"

	"github.com/edgerec/edgerec/core/wire"
)

// BenchmarkDecode measures decoding a typical request (what the module
// does once per call) and a typical response (what a host does for a JSON
// client), through core/wire's one-pass decoder.
func BenchmarkDecode(b *testing.B) {
	req := &Request{K: 20, Context: Context{Region: "eu", Device: "mobile", Age: 30}, Sources: Weights{"twotower": 1, "popular": 0.5}}
	for i := range 10 {
		req.History = append(req.History, Event{Item: fmt.Sprintf("item%06d", i*37), Time: 1700000000 + int64(i)})
	}
	rb, _ := EncodeRequest(req)
	resp := &Response{BundleVersion: "bench-100000-64-1", Debug: &Debug{}}
	for i := range 20 {
		resp.Items = append(resp.Items, Item{ID: fmt.Sprintf("i%07d", i*17), Score: float32(i) * 0.37, Source: "two_tower"})
	}
	for _, n := range []string{"embed", "retrieve", "sources+filter", "rank", "order"} {
		resp.Debug.Stages = append(resp.Debug.Stages, Stage{Name: n, In: 100000, Out: 200, Micros: 123})
	}
	pb, _ := wire.Marshal(resp)
	b.Run("request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeRequest(rb); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("response", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeResponse(pb); err != nil {
				b.Fatal(err)
			}
		}
	})
}
