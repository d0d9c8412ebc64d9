package demo

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"
)

func TestDemoServesTrafficAndCountsIt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := Start(ctx, Config{Listen: "127.0.0.1:0", RequestsPerSecond: 200, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^http_requests_total\{handler="/search",method="GET",code="200"\} (\d+)$`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + d.Addr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := re.FindSubmatch(body)
		if m == nil {
			t.Fatalf("metrics lack the /search request counter:\n%s", body)
		}
		if n, _ := strconv.Atoi(string(m[1])); n >= 20 {
			if !regexp.MustCompile(`http_request_duration_seconds_bucket\{handler="/checkout",method="GET",le="0.3"\}`).Match(body) {
				t.Fatalf("metrics lack the latency histogram's 0.3 bucket:\n%s", body)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %s successful /search requests after 10s, want at least 20", m[1])
		}
		time.Sleep(200 * time.Millisecond)
	}
}
