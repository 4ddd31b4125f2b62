# edgerec — see README.md. Every target works on a clean clone.
GO        ?= go
BIN       := bin
WASM      := $(BIN)/recommender.wasm
EDGEREC   := $(BIN)/edgerec
DEMO      := out/demo
DEMO_ADDR ?= 127.0.0.1:8080
FUZZTIME  ?= 60s

.PHONY: all build test check demo bench fuzz eval clean soak bench-serve

all: build

build: $(EDGEREC) $(WASM)

# Always rebuilt: go's build cache makes this cheap, and make cannot see
# every Go dependency.
.PHONY: $(EDGEREC) $(WASM)
$(EDGEREC):
	$(GO) build -trimpath -o $@ ./tools/edgerec

$(WASM):
	GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -buildmode=c-shared -o $@ ./wasm

QUALITY := TestTwoTowerBeatsPopularity|TestML100KQualityFloor

test:
	$(GO) test -count=1 -skip '$(QUALITY)' ./...
	@# The quality tests print their figures (-v): synthetic and MovieLens-100K.
	$(GO) test -count=1 -v -run '$(QUALITY)' ./tools/eval
	@# A short run of each fuzz target (longer ones: make fuzz).
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeBundle$$' -fuzztime 5s ./core/bundle
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeSection$$' -fuzztime 5s ./core/bundle
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeIndex$$' -fuzztime 5s ./core/bundle
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRequest$$' -fuzztime 5s ./core/api
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 5s ./core/bloom
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime 5s ./host/sign
	$(GO) test -run '^$$' -fuzz '^FuzzRecommendBody$$' -fuzztime 5s ./host/server

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeBundle$$' -fuzztime $(FUZZTIME) ./core/bundle
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeSection$$' -fuzztime $(FUZZTIME) ./core/bundle
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeIndex$$' -fuzztime $(FUZZTIME) ./core/bundle
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRequest$$' -fuzztime $(FUZZTIME) ./core/api
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./core/bloom
	$(GO) test -run '^$$' -fuzz '^FuzzApplyBytes$$' -fuzztime $(FUZZTIME) ./core/bloom
	$(GO) test -run '^$$' -fuzz '^FuzzLoadEdgerec$$' -fuzztime $(FUZZTIME) ./tools/dataset
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./host/sign
	$(GO) test -run '^$$' -fuzz '^FuzzRecommendBody$$' -fuzztime $(FUZZTIME) ./host/server

# check: formatting, vet, tidy modules, and the cross builds core/ must keep.
check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./core/... ./wasm/
	GOOS=wasip1 GOARCH=wasm $(GO) vet -tags edgerec_faults ./wasm/
	$(GO) mod tidy && git diff --exit-code go.mod go.sum
	GOOS=wasip1 GOARCH=wasm $(GO) build ./core/...
	GOOS=js GOARCH=wasm $(GO) build ./core/...
	GOARCH=386 $(GO) build ./core/...
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o /dev/null ./wasm

# demo: synthetic data → trained towers → bundle → recommendations through
# the module, for three sample users.
demo: build
	$(EDGEREC) synth --out $(DEMO)/data
	$(EDGEREC) train --data $(DEMO)/data --out $(DEMO)/model
	$(EDGEREC) bundle build --model $(DEMO)/model --data $(DEMO)/data --out $(DEMO)/demo.bundle --version demo-1
	$(EDGEREC) bundle inspect $(DEMO)/demo.bundle
	@for u in u0001 u0042 u0777; do \
	  echo; echo "== recommendations for $$u (through $(WASM)) =="; \
	  $(EDGEREC) recommend --bundle $(DEMO)/demo.bundle --wasm $(WASM) --data $(DEMO)/data --user $$u --k 10 || exit 1; \
	done
	@# The edge node, in the foreground (Ctrl-C stops it); DEMO_ADDR moves it.
	@echo; echo "== edgerec serve: the demo bundle over HTTP (Ctrl-C to stop) =="
	$(EDGEREC) serve --bundle $(DEMO)/demo.bundle --wasm $(WASM) --addr $(DEMO_ADDR) $(if $(wildcard web-demo),--web web-demo)

# eval: the README's results, on the MovieLens data in ../shared/data and on
# a large synthetic set (several minutes each).
EVAL_OUT := out/eval
eval: build
	mkdir -p $(EVAL_OUT)
	$(EDGEREC) eval --data ../shared/data/ml-100k --format movielens-100k --cold-start 0.1 --plot $(EVAL_OUT)/ml-100k.svg | tee $(EVAL_OUT)/ml-100k.txt
	$(EDGEREC) eval --data ../shared/data/ml-latest-small --format movielens-latest --cold-start 0.1 --plot $(EVAL_OUT)/ml-latest-small.svg | tee $(EVAL_OUT)/ml-latest-small.txt
	$(EDGEREC) synth --out $(EVAL_OUT)/synth-10k --users 10000 --items 5000
	$(EDGEREC) eval --data $(EVAL_OUT)/synth-10k --cold-start 0.1 --plot $(EVAL_OUT)/synth-10k.svg | tee $(EVAL_OUT)/synth-10k.txt

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./core/... ./host/...

# soak: the edge node under load for SOAK (default 2m) with a bundle swap,
# a corrupt bundle and a trapping request every second; no request may fail.
SOAK ?= 2m
soak:
	EDGEREC_SOAK=$(SOAK) $(GO) test -count=1 -v -run '^TestSoak$$' -timeout 0 ./host/server

# bench-serve: the edge node at 100k items (requests/s per core, p50/p99)
# against core called natively in the same process, and cold start with a
# warm compilation cache (README, "edgerec serve").
bench-serve:
	$(GO) test -run '^$$' -bench 'BenchmarkServe' -benchtime 2000x -timeout 0 ./tools/edgerec
	$(GO) test -run '^$$' -bench 'BenchmarkColdStart' -benchtime 10x -timeout 0 ./tools/edgerec

clean:
	rm -rf $(BIN) out
