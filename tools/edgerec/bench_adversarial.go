package main

import (
	"context"
	"fmt"
	"time"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bloom"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/host"
	"github.com/edgerec/edgerec/tools/benchdata"
)

// adversarial is one costly request the bench sends.
type adversarial struct {
	name string
	req  *api.Request
}

// adversarialRequests returns the costliest requests the module accepts
// against the bench catalog of n items: k at api.MaxK and filters that
// reject (nearly) everything the sources propose — an all-ones consumed
// filter (the smallest and the largest), the fullest filter the module
// still applies with the longest exclusion list, an allow-list at the
// limit, allow and exclude lists that cancel out, and all of it at once
// with the longest history, the most impressions and the most probes.
func adversarialRequests(n int, seed uint64) []adversarial {
	ids := func(count, from int) []string {
		out := make([]string, count)
		for j := range out {
			out[j] = benchID((from + j*max(1, n/count)) % n)
		}
		return out
	}
	below, _ := benchdata.FilterBelow(2000, api.MaxConsumedFPRate, seed).MarshalBinary()
	half := ids(api.MaxExclude/2, 0)
	all := &api.Request{K: api.MaxK, Debug: true, NProbe: 1 << 20, Consumed: benchdata.FullFilter(bloom.MaxBits, bloom.MaxHashes),
		Filters: &api.Filters{Allow: half, Exclude: half}, Context: api.Context{Region: "eu", Device: "mobile", Age: 30}}
	for _, id := range ids(api.MaxHistory, 7) {
		all.History = append(all.History, api.Event{Item: id})
	}
	for _, id := range ids(api.MaxImpressions, 11) {
		all.Impressions = append(all.Impressions, api.Impression{Item: id, Count: 3})
	}
	return []adversarial{
		{"all-ones consumed, 64 bits", &api.Request{K: api.MaxK, Debug: true, Consumed: benchdata.FullFilter(64, 1)}},
		{"all-ones consumed, 512 KiB", &api.Request{K: api.MaxK, Debug: true, Consumed: benchdata.FullFilter(bloom.MaxBits, bloom.MaxHashes)}},
		{"consumed below saturation", &api.Request{K: api.MaxK, Debug: true, Consumed: below,
			Filters: &api.Filters{Exclude: ids(api.MaxExclude, 3)}}},
		{"allow-list of 4096", &api.Request{K: api.MaxK, Debug: true, Filters: &api.Filters{Allow: ids(api.MaxExclude, 5)}}},
		{"allow = exclude, 2048 each", &api.Request{K: api.MaxK, Debug: true, Filters: &api.Filters{Allow: half, Exclude: half}}},
		{"everything at once", all},
	}
}

// timeAdversarial sends each of adversarialRequests o.advReps times (after
// one warm-up) to inst and records their cost, and the slowest one's p99
// over the normal recommend p99, in rep.
func timeAdversarial(ctx context.Context, rep *benchReport, inst *host.Instance, o benchOptions, progress func(string, ...any)) error {
	if o.advReps == 0 {
		return nil
	}
	var worst float64
	for _, a := range adversarialRequests(o.items, o.seed) {
		progress("adversarial: %s", a.name)
		at, err := timeOneAdversarial(ctx, inst, a, o.advReps)
		if err != nil {
			return err
		}
		worst = max(worst, at.P99)
		rep.Adversarial = append(rep.Adversarial, at)
	}
	if rep.Wasm.RecommendP99 > 0 {
		rep.AdversarialRatio = worst / rep.Wasm.RecommendP99
	}
	return nil
}

// timeOneAdversarial times reps calls of a, as the edge server serves it:
// the client's bytes in, the response decoded.
func timeOneAdversarial(ctx context.Context, inst *host.Instance, a adversarial, reps int) (adversarialTimes, error) {
	at := adversarialTimes{Name: a.name, MaxBudget: pipeline.MaxExamined}
	body, err := api.EncodeRequest(a.req)
	if err != nil {
		return at, err
	}
	at.Bytes = len(body)
	var times []float64
	for i := -1; i < reps; i++ {
		start := time.Now()
		out, err := inst.RecommendBytes(ctx, body)
		if err != nil {
			return at, fmt.Errorf("adversarial request %q: %w", a.name, err)
		}
		resp, err := api.DecodeResponse(out)
		if err != nil {
			return at, err
		}
		if i < 0 {
			continue // warm-up
		}
		times = append(times, ms(time.Since(start)))
		at.Items, at.Warnings = len(resp.Items), resp.Warnings
		if resp.Debug != nil {
			at.Examined = resp.Debug.Examined
		}
	}
	at.P50, at.P99 = percentile(times, 50), percentile(times, 99)
	return at, nil
}
