#!/usr/bin/env bash
# Gate throughput benchmark: the same wrk load (64 connections, 10 s) against
# a bare echo handler returning a constant small JSON, then against
# slogate's gate endpoint, on this machine, in one run. Target: the gate
# serves at least 80% of the bare handler's requests per second with a p99
# of at most 5 ms. Needs wrk (Debian package wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
go build -o "$dir/slogate" ./cmd/slogate
go build -o "$dir/bare" ./deploy/bench/bare

mkdir -p "$dir/specs"
cat > "$dir/specs/checkout.yaml" <<SPEC
name: checkout
owner: {team: payments}
slos:
  - {name: availability, objective: 99.9, window: 28d, sli: {push: {}}}
  - {name: latency, objective: 99, window: 28d, sli: {push: {}}}
  - {name: errors, objective: 99.5, window: 7d, sli: {push: {}}}
SPEC
cat > "$dir/slogate.yaml" <<CONF
listen: 127.0.0.1:18080
storage: data/slogate.db
specs: [specs]
evaluationInterval: 5s
CONF

# Servers on one core, wrk on the other, so the load tool does not steal the
# servers' CPU (on a 2-core machine they would otherwise share both).
pin() { if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then exec taskset -c "$1" "${@:2}"; else exec "${@:2}"; fi; }
GOMAXPROCS=1 pin 0 "$dir/slogate" serve --config "$dir/slogate.yaml" --log-level warn &
GOMAXPROCS=1 pin 0 "$dir/bare" --listen 127.0.0.1:18081 &
for _ in $(seq 100); do
  curl -fs 127.0.0.1:18080/readyz >/dev/null 2>&1 && curl -fs 127.0.0.1:18081/ok >/dev/null 2>&1 && break
  sleep 0.1
done
for slo in availability latency errors; do
  curl -fs -X POST 127.0.0.1:18080/api/v1/events -H 'Content-Type: application/json' \
    -d "{\"service\":\"checkout\",\"slo\":\"$slo\",\"good\":9990,\"total\":10000}" >/dev/null
done
sleep 6 # one evaluation, so the gate has a verdict to answer from

gate_url='http://127.0.0.1:18080/api/v1/gate/checkout?env=production&change_type=feat&version=v1.42.0'
curl -fs "$gate_url" >/dev/null

run() { pin 1 wrk -t"${WRK_THREADS:-1}" -c64 -d10s --latency "$1"; }
[ -n "${PROFILE:-}" ] && { (sleep 2; curl -s -o /tmp/gate.pprof "http://127.0.0.1:6060/debug/pprof/profile?seconds=5") & wrk -t2 -c64 -d10s "$gate_url" >/dev/null; wait; exit 0; }
rps() { awk '/^Requests\/sec/ {print $2}'; }
p99() { awk '$1 == "99%" {print $2}'; }
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.3f", v}'; }

bare=$(run http://127.0.0.1:18081/ok)
gate=$(run "$gate_url")
bare_rps=$(rps <<<"$bare"); gate_rps=$(rps <<<"$gate")
bare_p99=$(p99 <<<"$bare" | to_ms); gate_p99=$(p99 <<<"$gate" | to_ms)
ratio=$(awk -v g="$gate_rps" -v b="$bare_rps" 'BEGIN {printf "%.1f", 100*g/b}')
echo "bare echo:     $bare_rps req/s, p99 ${bare_p99} ms"
echo "gate endpoint: $gate_rps req/s, p99 ${gate_p99} ms"
echo "gate/bare:     ${ratio}% (target >= 80%), gate p99 ${gate_p99} ms (target <= 5 ms)"
