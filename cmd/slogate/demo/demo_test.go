package demo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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

func TestDemoBatchJobPushesCounts(t *testing.T) {
	got := make(chan []map[string]any, 10)
	intake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var events []map[string]any
		if err := json.NewDecoder(r.Body).Decode(&events); err != nil {
			t.Errorf("push body is not a JSON array of events: %v", err)
		}
		got <- events
		w.Write([]byte(`{"accepted":1}`))
	}))
	defer intake.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Start(ctx, Config{
		Listen: "127.0.0.1:0", Seed: 3, PushURL: intake.URL, PushInterval: 20 * time.Millisecond,
		PushSLOs: []PushSLO{{Service: "nightly-export", SLO: "delivery"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case events := <-got:
		if len(events) != 1 || events[0]["service"] != "nightly-export" || events[0]["slo"] != "delivery" ||
			events[0]["total"] != float64(20) || events[0]["good"].(float64) > 20 {
			t.Fatalf("got %v, want one event of 20 files for nightly-export/delivery", events)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no push within 5s")
	}
}
