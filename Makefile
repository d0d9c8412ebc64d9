# slogate: `make run` starts the service with the example SLOs and a demo
# workload; `make test` runs every test.
GO      ?= go
BIN     := bin/slogate
CONFIG  ?= testdata/slogate.yaml
PKGS    := ./...

.PHONY: run test bench bench-go bench-http build lint clean vendor-uplot

build:
	$(GO) build -o $(BIN) ./cmd/slogate

run: build
	@mkdir -p .run
	./$(BIN) serve --config $(CONFIG) --demo

test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

bench: bench-go bench-http

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m $(PKGS)

# The gate's HTTP throughput against a bare echo handler, under wrk.
bench-http:
	deploy/bench/gate-wrk.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf bin .run

# uPlot, the chart library of the web UI, is vendored (the binary embeds it
# and works offline). This fetches the pinned release from the npm registry,
# copies its dist files and licence into ui/static/vendor/uplot/ and points
# ui/index.html's ?v= at the version, so browsers cache the files for good;
# bump UPLOT_VERSION and rerun to upgrade.
UPLOT_VERSION := 1.6.32
UPLOT_DIR     := ui/static/vendor/uplot

vendor-uplot:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	cd "$$tmp" && npm pack --silent uplot@$(UPLOT_VERSION) >/dev/null && \
	tar -xzf uplot-$(UPLOT_VERSION).tgz && cd - >/dev/null && \
	mkdir -p $(UPLOT_DIR) && \
	cp "$$tmp/package/dist/uPlot.iife.min.js" "$$tmp/package/dist/uPlot.min.css" "$$tmp/package/LICENSE" $(UPLOT_DIR)/ && \
	echo $(UPLOT_VERSION) > $(UPLOT_DIR)/VERSION && \
	sed -e 's|\(/static/vendor/uplot/[^"?]*\)?v=[^"]*|\1?v=$(UPLOT_VERSION)|g' ui/index.html > "$$tmp/index.html" && \
	cp "$$tmp/index.html" ui/index.html && \
	echo "vendored uPlot $(UPLOT_VERSION) into $(UPLOT_DIR)"

