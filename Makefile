# edgerec — see README.md. Every target works on a clean clone.
GO        ?= go
BIN       := bin
WASM      := $(BIN)/recommender.wasm
EDGEREC   := $(BIN)/edgerec
DEMO      := out/demo
DEMO_ADDR ?= 127.0.0.1:8080
FUZZTIME  ?= 60s

.PHONY: all build test check demo import-demo bench fuzz eval ablations clean web-npm web-deps events-deps sim web-fixtures web-test web-js-test web-bench soak bench-serve edge-scale

all: build

build: $(EDGEREC) $(WASM)

# Always rebuilt: go's build cache makes this cheap, and make cannot see
# every Go dependency.
.PHONY: $(EDGEREC) $(WASM)
$(EDGEREC):
	$(GO) build -trimpath -o $@ ./tools/edgerec

$(WASM):
	GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -buildmode=c-shared -o $@ ./wasm

QUALITY := TestTwoTowerBeatsPopularity|TestQualityFloors

# Fuzz targets as Target:package, for make fuzz ($(FUZZTIME) each). make
# test runs their seed corpora (testdata/fuzz and f.Add) as unit tests,
# within go test ./...; fuzzing itself compiles each target apart, which
# cost make test more than its tests.
FUZZ_TARGETS := FuzzUnmarshal:./core/wire FuzzDecodeBundle:./core/bundle FuzzDecodeSection:./core/bundle FuzzDecompress:./core/bundle \
	FuzzDecodeIndex:./core/bundle FuzzDecodeRequest:./core/api FuzzDecode:./core/bloom \
	FuzzDecodeCatalogRequest:./core/api FuzzDecodeSpec:./tools/importer FuzzDecodeSafetensors:./tools/importer \
	FuzzDecodeNPZ:./tools/importer FuzzDecodeNPY:./tools/importer FuzzVerify:./host/sign \
	FuzzRecommendBody:./host/server FuzzDecodeVerified:./core/bundle FuzzApplyBytes:./core/bloom \
	FuzzLoadEdgerec:./tools/dataset FuzzLoadLastFM:./tools/dataset FuzzDecodeCompact:./core/bundle FuzzDecodeHistoryCodes:./core/bundle FuzzDecodeNeighbours:./core/bundle FuzzDecodeLeanColumns:./core/bundle FuzzDecodeLeanTitles:./core/bundle FuzzDecodeIVFPQ:./core/ann \
	FuzzDecodeJSON:./host/events FuzzDecodeMsgpack:./host/events FuzzStampRequestID:./core/api FuzzEventsBody:./host/server

# test: three phases, each announced, then a summary (tools/testreport):
# the time of each phase, every skipped test with its reason and the
# command that enables it, and "tests: N passed, N failed, N skipped".
# The quality floors (phase 2) start beside phase 1: go test ./... leaves
# a core idle while it compiles and links and while its last, longest
# packages run, and the floors' training fills it; the web tests (phase
# 3) run when phase 1 ends, beside the floors' last minute, whose lines
# are printed after them. A failing phase does not stop the next: the
# summary covers all, and make test fails if any did. -count=1 on
# purpose: no cached results. The timeouts are go test's 10 minutes per
# package with room for a machine shared with other work, where the
# floors' training can take twice as long.
TEST_STATE := out/test
TESTREPORT := $(BIN)/testreport
.PHONY: $(TESTREPORT)
$(TESTREPORT):
	@$(GO) build -o $@ ./tools/testreport

test: $(TESTREPORT) events-deps
	@$(TESTREPORT) begin -state $(TEST_STATE); st=0; t0=$$(date +%s); \
	echo "== make test 1/3: go test ./... (unit, seed corpora of the fuzz targets, end to end, module-vs-native parity, edge node, PyTorch round trip) =="; \
	echo "   (2/3, the quality floors, starts beside it: its lines follow it)"; \
	{ $(TESTREPORT) go -phase "2 quality floors" -state $(TEST_STATE) -show '$(QUALITY)' -- $(GO) test -count=1 -timeout 30m -json -run '$(QUALITY)' ./tools/eval \
	  > $(TEST_STATE)/quality.log 2>&1; echo $$? > $(TEST_STATE)/quality.status; } & \
	$(TESTREPORT) go -phase "1 go test ./..." -state $(TEST_STATE) -- $(GO) test -count=1 -timeout 20m -json -skip '$(QUALITY)' ./... || st=1; \
	echo "== make test 3/3: web tests (JS loader in Node, workerd, Chromium), beside the end of 2/3 =="; \
	t3=$$(date +%s); rm -f $(TEST_STATE)/web.tap; \
	$(MAKE) --no-print-directory web-js-test WEB_TEST_REPORT='--test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination=$(CURDIR)/$(TEST_STATE)/web.tap' || st=1; \
	t3=$$(( $$(date +%s) - t3 )); \
	echo "== make test 2/3: quality floors (tools/eval: synthetic, and MovieLens and Last.fm from ../shared/data) =="; \
	wait; cat $(TEST_STATE)/quality.log; [ "$$(cat $(TEST_STATE)/quality.status)" = 0 ] || st=1; \
	if [ -f $(TEST_STATE)/web.tap ]; then $(TESTREPORT) tap -phase "3 web tests" -state $(TEST_STATE) -seconds $$t3 $(TEST_STATE)/web.tap || st=1; \
	else echo "web tests did not run"; st=1; fi; \
	$(TESTREPORT) summary -state $(TEST_STATE) -since $$t0 || st=1; \
	exit $$st

# fuzz: every fuzz target for FUZZTIME (60s by default), one after the
# other.
fuzz:
	@for t in $(FUZZ_TARGETS); do echo "fuzz $${t%%:*} ($${t#*:}, $(FUZZTIME))"; GO=$(GO) tools/fuzz.sh $${t%%:*} $${t#*:} $(FUZZTIME) || exit 1; done

# check: formatting, vet, tidy modules, the cross builds core/ must keep,
# and no large tracked file (binaries belong in bin/ or out/, ignored; only
# golden fixtures under testdata/ may pass 1 MB).
check:
	@big=$$(git ls-files -z | xargs -0 stat -c '%s %n' 2>/dev/null | awk '$$1 > 1048576 && $$2 !~ /(^|\/)testdata\//'); \
	  test -z "$$big" || { echo "tracked files over 1 MB (only golden fixtures under testdata/ may be):"; echo "$$big"; exit 1; }
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./core/... ./wasm/
	GOOS=wasip1 GOARCH=wasm $(GO) vet -tags edgerec_faults ./wasm/
	$(GO) mod tidy && git diff --exit-code go.mod go.sum
	GOOS=wasip1 GOARCH=wasm $(GO) build ./core/...
	GOOS=js GOARCH=wasm $(GO) build ./core/...
	GOARCH=386 $(GO) build ./...
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
	@# The demo page (web-demo/) loads its two npm packages from node_modules:
	@# installed before the banner, so that npm's lines come before it.
	@$(MAKE) --no-print-directory web-npm || echo "note: without npm the demo page cannot load its packages; the API still serves"
	@# The edge node, in the foreground (Ctrl-C stops it); DEMO_ADDR moves it.
	@echo; echo "== edgerec serve: the demo bundle over HTTP (Ctrl-C to stop) =="
	$(EDGEREC) serve --bundle $(DEMO)/demo.bundle --wasm $(WASM) --addr $(DEMO_ADDR) --web web-demo

# import-demo: a PyTorch two-tower (tools/pytorch, Debian's python3-torch)
# trained on synthetic data, exported, imported and served by the module.
PT := out/pytorch
import-demo: build
	$(EDGEREC) synth --out $(PT)/data --users 1000 --items 500
	/usr/bin/python3 tools/pytorch/twotower.py --data $(PT)/data --out $(PT)/export
	/usr/bin/python3 tools/pytorch/to_safetensors.py $(PT)/export/model.pt $(PT)/model.safetensors
	$(EDGEREC) import --spec $(PT)/export/spec.json --weights $(PT)/model.safetensors --out $(PT)/model
	$(EDGEREC) bundle build --model $(PT)/model --data $(PT)/data --out $(PT)/pytorch.bundle
	$(EDGEREC) recommend --bundle $(PT)/pytorch.bundle --wasm $(WASM) --data $(PT)/data --user u0001 --k 10

# eval: the results of tools/eval/RESULTS.md, on the MovieLens and Last.fm data in
# ../shared/data and on a large synthetic set, the two-tower models over
# seeds 1-3 (about an hour on 2 cores).
EVAL_OUT := out/eval
eval: build
	mkdir -p $(EVAL_OUT)
	$(EDGEREC) eval --data ../shared/data/ml-100k --format movielens-100k --seeds 1,2,3 --cold-start 0.1 --plot $(EVAL_OUT)/ml-100k.svg | tee $(EVAL_OUT)/ml-100k.txt
	$(EDGEREC) eval --data ../shared/data/ml-latest-small --format movielens-latest --seeds 1,2,3 --cold-start 0.1 --plot $(EVAL_OUT)/ml-latest-small.svg | tee $(EVAL_OUT)/ml-latest-small.txt
	$(EDGEREC) eval --data ../shared/data/lastfm-hetrec2k --format lastfm-hetrec --seeds 1,2,3 --cold-start 0.1 --plot $(EVAL_OUT)/lastfm-hetrec2k.svg | tee $(EVAL_OUT)/lastfm-hetrec2k.txt
	$(EDGEREC) synth --out $(EVAL_OUT)/synth-10k --users 10000 --items 5000
	$(EDGEREC) eval --data $(EVAL_OUT)/synth-10k --seeds 1,2,3 --cold-start 0.1 --plot $(EVAL_OUT)/synth-10k.svg | tee $(EVAL_OUT)/synth-10k.txt

# ablations: the two-tower alone with each training technique turned off
# (or one setting changed) at a time, seed 1, on every data set present;
# each run's output and a Markdown table in out/ablations (about 45
# minutes on 2 cores, most of it the synthetic set).
ABLATIONS_OUT := out/ablations
ablations: build
	mkdir -p $(ABLATIONS_OUT)
	tools/eval/ablations.sh $(EDGEREC) $(ABLATIONS_OUT) > $(ABLATIONS_OUT)/table.md
	cat $(ABLATIONS_OUT)/table.md

# sim: the feedback loop end to end (tools/sim/README.md): simulated users
# with hidden tastes against two experiment arms served by the edge node's
# handler, their events in Parquet, the report's verdict; then round 2, a
# bundle trained with those events against one trained without, served to
# the same users. Fails if the report misses the better arm or the events
# do not raise the take rate. make test runs a smaller one (tools/sim).
sim: build
	rm -rf out/sim
	$(EDGEREC) sim --wasm $(WASM) --synth-users 2000 --items 1000 --users 2000 --lists 5 --epochs 4 --out out/sim --plot out/sim/report.svg

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./core/... ./host/...

# soak: the edge node under load for SOAK (default 2m) with a bundle swap,
# a corrupt bundle and a trapping request every second; no request may fail.
SOAK ?= 2m
soak:
	EDGEREC_SOAK=$(SOAK) $(GO) test -count=1 -v -run '^TestSoak$$' -timeout 0 ./host/server

# bench-serve: the edge node at 100k items (requests/s per core, p50/p99)
# against core called natively in the same process, and cold start with a
# warm compilation cache (host/MEASUREMENTS.md).
bench-serve:
	$(GO) test -run '^$$' -bench 'BenchmarkServe' -benchtime 2000x -timeout 0 ./tools/edgerec
	$(GO) test -run '^$$' -bench 'BenchmarkColdStart' -benchtime 10x -timeout 0 ./tools/edgerec

# edge-scale: a lean compact 1M-item bundle (no item-to-item sources, no
# titles; built once into out/bench) served by the edge worker under
# workerd and by edgerec serve --pool 2: start-up, memory, answers checked
# against the loader's, and the loader's streamed load held to a Workers
# isolate's 128 MB (122 MiB) (web-demo/bench/edge-scale.js). About a
# minute, the bundle's build included; a kept bundle is rebuilt unless it
# is format 4.0 (lean).
SCALE_BUNDLE ?= out/bench/lean-1m.bundle
edge-scale: build web-deps
	@$(EDGEREC) bundle inspect --json $(SCALE_BUNDLE) 2>/dev/null | grep -q '"format_version": *"4\.0"' || { mkdir -p $(dir $(SCALE_BUNDLE)) && $(EDGEREC) bench --items 1000000 --compact --no-sources --no-titles --adversarial 0 --queries 20 --keep $(SCALE_BUNDLE); }
	node $(WEB)/bench/edge-scale.js --bundle $(SCALE_BUNDLE) --limit-mib 122

clean:
	rm -rf $(BIN) out

# ---- web-demo: the JS loader, the demo page, the edge-worker example ----
# WEB_TEST_REPORT: further node --test reporters (make test adds a TAP
# file for its summary).
WEB_TEST_REPORT ?=

# web-js-test: Node tests (cross-host parity with the wazero host, Bloom
# bytes, the edge worker), the type declarations, and the page in Debian's
# Chromium (Playwright). Fixtures come from a small synthetic bundle (about
# 25 s to train once; kept in out/web) through `edgerec parity`.
WEB        := web-demo
WEB_OUT    := out/web
CHROMIUM   ?= /usr/bin/chromium

# web-npm: the page's npm packages (web-demo/node_modules).
# --loglevel=error: npm 11 warns that esbuild's and workerd's install
# scripts are not yet listed in an allowScripts setting; it still runs them
# (they put each package's native binary in place), so the warning asks
# nothing of the reader.
NPM_CI := npm ci --no-audit --no-fund --loglevel=error
web-npm:
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "web-demo needs Node 20+ and npm: apt-get install nodejs npm"; exit 1; }
	@[ $(WEB)/node_modules/.package-lock.json -nt $(WEB)/package-lock.json ] || (cd $(WEB) && $(NPM_CI))

# events-deps: DuckDB (npm's @duckdb/node-api, web-demo/test/duckdb), with
# which host/events' test reads the event files as other engines do; a Go
# test, so make test installs it before phase 1. Without npm that test
# skips and says why.
events-deps:
	@command -v npm >/dev/null || { echo "note: no npm, so the DuckDB test of the event files will be skipped"; exit 0; }; \
	  [ $(WEB)/test/duckdb/node_modules/.package-lock.json -nt $(WEB)/test/duckdb/package-lock.json ] || (cd $(WEB)/test/duckdb && $(NPM_CI))

# web-deps: what the web tests need besides the page's packages: workerd
# and esbuild for the edge worker's test (web-demo/test/workerd, kept apart
# so that make demo does not download them), and Chromium.
web-deps: web-npm
	@[ $(WEB)/test/workerd/node_modules/.package-lock.json -nt $(WEB)/test/workerd/package-lock.json ] || (cd $(WEB)/test/workerd && $(NPM_CI))
	@if [ ! -x "$(CHROMIUM)" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the browser test"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; } || true; \
	fi
	@[ -x "$(CHROMIUM)" ] || echo "!!!!!!!! no Chromium at $(CHROMIUM): the browser test will be SKIPPED (apt-get install chromium) !!!!!!!!"

$(WEB_OUT)/data/items.csv: | $(EDGEREC)
	$(EDGEREC) synth --out $(WEB_OUT)/data --users 600 --items 800

# The fixtures' model only has to hold a ranker for the parity tests: its
# guard is a held-out share and one list a user (72 s -> 8 s with the
# ranker defaults of 2026-12-07, which cross-validate below 1 000 users).
$(WEB_OUT)/model/.done: $(WEB_OUT)/data/items.csv | $(EDGEREC)
	$(EDGEREC) train --data $(WEB_OUT)/data --out $(WEB_OUT)/model --epochs 2 --validation 0.1 --no-refit --rank-folds 0 --rank-cuts 0 --rank-soup 0
	touch $@

web-fixtures: build $(WEB_OUT)/model/.done
	$(EDGEREC) bundle build --model $(WEB_OUT)/model --data $(WEB_OUT)/data --out $(WEB_OUT)/web-test.bundle --version web-test
	$(EDGEREC) parity --bundle $(WEB_OUT)/web-test.bundle --wasm $(WASM) --out $(WEB_OUT)/fixtures
	$(EDGEREC) bundle build --model $(WEB_OUT)/model --data $(WEB_OUT)/data --out $(WEB_OUT)/web-test-compact.bundle --version web-test-compact --compact --no-titles
	$(EDGEREC) parity --bundle $(WEB_OUT)/web-test-compact.bundle --wasm $(WASM) --out $(WEB_OUT)/fixtures-compact

# web-test: the JS tests (web-js-test, which make test runs as its third
# phase) and the million-item test at the edge (edge-scale, which .ci/run
# runs after make test: make test stays under six minutes).
web-test: web-js-test edge-scale

web-js-test: web-deps web-fixtures
	cd $(WEB) && npm run -s typecheck
	cd $(WEB) && CHROMIUM=$(CHROMIUM) EDGEREC_FIXTURES=$(CURDIR)/$(WEB_OUT)/fixtures EDGEREC_COMPACT_FIXTURES=$(CURDIR)/$(WEB_OUT)/fixtures-compact node --test --test-reporter=spec $(WEB_TEST_REPORT) test/*.test.js

# web-bench: recommend latency in wazero, Node and Chromium for the demo
# bundle (out/demo/demo.bundle, which `make demo` builds).
web-bench: build web-deps
	@[ -f $(DEMO)/demo.bundle ] || { echo "no $(DEMO)/demo.bundle: run make demo first"; exit 1; }
	$(EDGEREC) parity --bundle $(DEMO)/demo.bundle --wasm $(WASM) --out $(WEB_OUT)/bench --bench 2000
	CHROMIUM=$(CHROMIUM) node $(WEB)/bench/run.js --fixtures $(WEB_OUT)/bench --n 2000
