package main

import (
	"context"
	"time"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/host"
)

// timeColdStart measures what an edge node (edgerec serve) does when it
// starts with a warm compilation cache: compile the module (from the
// cache: the first call fills it) and fault in the first instance's
// memory while it checks the bundle natively, then instantiate, load the
// checked bundle and answer a first request. It records the native check
// and the verified load separately too.
func timeColdStart(ctx context.Context, rep *benchReport, wasm, data []byte, o benchOptions) error {
	opts := host.Options{CacheDir: host.DefaultCacheDir(), ReserveMemory: o.reserve}
	warm, err := host.Compile(ctx, wasm, opts) // fills the cache
	if err != nil {
		return err
	}
	warm.Close(ctx)

	start := time.Now()
	if o.reserve {
		opts.PrefaultBytes = host.LoadFootprint(int64(len(data)))
	}
	mod, err := host.Start(ctx, wasm, opts)
	if err != nil {
		return err
	}
	defer mod.Close(ctx)
	v, err := host.Verify(data)
	if err != nil {
		return err
	}
	rep.VerifyMS = ms(time.Since(start))
	in, err := mod.Instantiate(ctx)
	if err != nil {
		return err
	}
	defer in.Close(ctx)
	loadStart := time.Now()
	if _, err := in.LoadVerified(ctx, v); err != nil {
		return err
	}
	rep.LoadVerifiedMS = ms(time.Since(loadStart))
	if _, err := in.Recommend(ctx, &api.Request{K: o.k}); err != nil {
		return err
	}
	rep.ColdStartMS = ms(time.Since(start))
	return nil
}
