// Package pytorch holds the reference PyTorch two-tower model
// (twotower.py) that `edgerec import` is tested against, and that test: it
// trains the script on synthetic data with Debian's python3-torch, imports
// the exported safetensors and .npz weights, and holds the query and item
// embeddings of recommender.wasm and core/tower to PyTorch's within 1e-4,
// and the module's top-10 lists to PyTorch's exact top-10 (see
// TestPyTorchRoundTrip for what quantization permits).
//
// The package has no Go API; run the script directly:
//
//	/usr/bin/python3 tools/pytorch/twotower.py --data DIR --out OUT
package pytorch
