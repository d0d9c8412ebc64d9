// Package integration holds slogate's integration suite: the real slogate
// binary, built from cmd/slogate, run against the real systems it grows
// onto (Prometheus and VictoriaMetrics as PromQL sources, Prometheus
// scraping slogate, Alertmanager as a receiver), each started by the tests
// on 127.0.0.1 with its own temporary storage. The package has no code of
// its own besides the tests; it runs with `go test ./...`. A missing
// server skips its tests locally and fails them in CI (CI=true).
package integration
