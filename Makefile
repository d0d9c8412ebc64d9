# slogate: `make run` starts the service with the example SLOs and a demo
# workload; `make test` runs every test.
GO      ?= go
BIN     := bin/slogate
CONFIG  ?= testdata/slogate.yaml
PKGS    := ./...

.PHONY: run test bench bench-go bench-http build lint clean

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
