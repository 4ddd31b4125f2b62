//go:build wasip1

package main

import (
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/core/wire"
)

// embed decodes the n-byte msgpack request at ptr, which stays the host's,
// resolves it against the current bundle as recommend does (history ids to
// rows, context to features) and returns the msgpack api.Embedding: the
// float32 query embedding the retrieval stage searches with.
//
//go:wasmexport edgerec_embed
func embed(ptr, n uint32) (result uint64) {
	defer recoverResult(&result)
	return answer(ptr, n, api.DecodeRequest, func(rec *pipeline.Recommender, req *api.Request) ([]byte, error) {
		req.Normalize()
		q := rec.Resolve(req)
		return wire.Marshal(&api.Embedding{Vector: rec.Embed(q), Pooled: len(q.Input.History), UnknownItems: q.Unknown})
	})
}
