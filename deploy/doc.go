// Package deploy holds the files that run and watch slogate outside this
// repository: the container image (docker/), a compose stack (compose/),
// Kubernetes manifests (kubernetes/base/), a systemd unit (systemd/),
// Prometheus scrape config and alert rules (prometheus/), an Alertmanager
// route (alertmanager/), a Grafana dashboard (grafana/) and a GitHub
// Actions pull-request check of a team's specs (github-actions/), besides
// the Flagger and Argo Rollouts examples and the HTTP benchmark.
//
// It has no Go API. Its tests check the files against slogate itself: the
// configs load with slo.Load, every PromQL expression parses and names only
// metrics slogate emits, ports and paths agree across files, and the real
// promtool, amtool, systemd-analyze and kubectl check what they can.
package deploy
