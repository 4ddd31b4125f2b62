package api

// Embedding is the result of the module's edgerec_embed export: a request's
// query embedding as the bundle's query tower computes it (the vector
// retrieval searches with, before any quantization), for parity tests
// against the framework a model was trained in and for clients that search
// elsewhere.
type Embedding struct {
	// Vector is the unit query embedding, float32.
	Vector []float32 `msgpack:"vector" json:"vector"`
	// Pooled counts the history items the tower pooled (known to the model,
	// at most its max_history newest).
	Pooled int `msgpack:"pooled" json:"pooled"`
	// UnknownItems counts history and seed ids not in the bundle.
	UnknownItems int `msgpack:"unknown_items" json:"unknown_items"`
}
