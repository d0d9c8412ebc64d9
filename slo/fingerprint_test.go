package slo

import "testing"

func TestFingerprintChangesOnlyWithWhatTheSLIMeasures(t *testing.T) {
	sli := func(body string) SLI {
		t.Helper()
		svc, err := ParseService("fp.yaml", []byte("name: checkout\nowner: {team: payments}\nrunbook: https://r.example.com\nslos:\n"+
			"  - name: availability\n    objective: 99\n    window: 28d\n    sli:\n"+body))
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		return svc.SLOs[0].SLI
	}
	ratio := sli(`      ratio:
        bad: http_requests_total{job="checkout",code=~"5.."}
        total: http_requests_total{job="checkout"}
`)
	latency := sli(`      latency: {metric: http_request_duration_seconds, selector: '{job="checkout"}', threshold: 0.3}
`)
	for _, tc := range []struct {
		name string
		a, b SLI
		same bool
	}{
		{"matchers reordered and spaced", ratio, sli(`      ratio:
        bad: 'http_requests_total{ code=~"5..", job="checkout" }'
        total: '{__name__="http_requests_total", job="checkout"}'
`), true},
		{"another job", ratio, sli(`      ratio:
        bad: http_requests_total{job="cart",code=~"5.."}
        total: http_requests_total{job="cart"}
`), false},
		{"good instead of bad", ratio, sli(`      ratio:
        good: http_requests_total{job="checkout",code=~"5.."}
        total: http_requests_total{job="checkout"}
`), false},
		{"the same latency SLI", latency, sli(`      latency: {metric: http_request_duration_seconds, selector: '{job="checkout"}', threshold: 0.3}
`), true},
		{"another latency threshold", latency, sli(`      latency: {metric: http_request_duration_seconds, selector: '{job="checkout"}', threshold: 0.5}
`), false},
		{"read from a Prometheus source", ratio, sli(`      source: thanos
      ratio:
        bad: http_requests_total{job="checkout",code=~"5.."}
        total: http_requests_total{job="checkout"}
`), false},
		{"push against ratio", ratio, sli("      push: {}\n"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.a.Fingerprint(), tc.b.Fingerprint()
			if (a == b) != tc.same {
				t.Fatalf("fingerprints %s and %s: same = %v, want %v", a, b, a == b, tc.same)
			}
		})
	}
}
