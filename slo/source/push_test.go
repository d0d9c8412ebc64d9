package source

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slogate/slogate/slo"
)

func pushServices(t testing.TB) []*slo.Service {
	return []*slo.Service{
		{Name: "nightly-export", SLOs: []slo.SLO{
			{Name: "success", SLI: slo.SLI{Push: &slo.PushSLI{}}},
			ratioSLO(t, "scraped", "", `a_total{x="1"}`, "", `a_total`),
		}},
	}
}

func newPushServer(t *testing.T, sink *fakeSink) *httptest.Server {
	t.Helper()
	p, err := NewPush(PushConfig{Services: pushServices(t), Sink: sink, Now: func() time.Time { return t0.Add(30 * time.Second) }, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv
}

func TestPushAcceptsEvents(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []Increase
	}{
		{"one event with a timestamp is counted in its minute",
			`{"service":"nightly-export","slo":"success","good":97,"total":100,"timestamp":"2026-11-25T09:59:30.5Z"}`,
			[]Increase{{"nightly-export", "success", t0.Add(-time.Minute), 97, 100}}},
		{"an event without a timestamp is counted now",
			`{"service":"nightly-export","slo":"success","good":1.5,"total":2}`,
			[]Increase{{"nightly-export", "success", t0, 1.5, 2}}},
		{"a batch is counted event by event",
			`[{"service":"nightly-export","slo":"success","good":0,"total":0},
			  {"service":"nightly-export","slo":"success","good":3,"total":4,"timestamp":"2026-11-25T11:02:00+01:00"}]`,
			[]Increase{{"nightly-export", "success", t0, 0, 0}, {"nightly-export", "success", t0.Add(2 * time.Minute), 3, 4}}},
		{"a timestamp a little in the future is accepted",
			`{"service":"nightly-export","slo":"success","good":1,"total":1,"timestamp":"2026-11-25T10:04:00Z"}`,
			[]Increase{{"nightly-export", "success", t0.Add(4 * time.Minute), 1, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &fakeSink{}
			srv := newPushServer(t, sink)
			resp, err := http.Post(srv.URL+"/api/v1/events", "application/json; charset=utf-8", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if want := `{"accepted":` + itoa(len(tt.want)) + "}\n"; resp.StatusCode != http.StatusOK || body != want {
				t.Errorf("got %d %s, want 200 %s", resp.StatusCode, body, want)
			}
			got := sink.increases()
			if len(got) != len(tt.want) {
				t.Fatalf("got increases %v, want %v", got, tt.want)
			}
			for i := range got {
				if !got[i].Minute.Equal(tt.want[i].Minute) || got[i].Minute.Location() != time.UTC ||
					got[i].Service != tt.want[i].Service || got[i].SLO != tt.want[i].SLO ||
					got[i].Good != tt.want[i].Good || got[i].Total != tt.want[i].Total {
					t.Errorf("increase %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestPushRejectsBadRequests(t *testing.T) {
	ev := func(fields string) string { return `{"service":"nightly-export","slo":"success",` + fields + `}` }
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		wantStatus  int
		wantError   string
	}{
		{"a GET is not allowed", http.MethodGet, "", "", 405, "use POST"},
		{"a form body is an unsupported content type", "", "application/x-www-form-urlencoded", "a=b", 415, `content type "application/x-www-form-urlencoded" is not supported`},
		{"a missing content type is unsupported", "", "-", "{}", 415, "want application/json"},
		{"a body over 1 MiB is too large", "", "", `[` + strings.Repeat(" ", MaxPushBody) + `]`, 413, "body exceeds 1048576 bytes"},
		{"broken JSON is a bad request", "", "", `{"service":`, 400, "invalid JSON"},
		{"an unknown field is a bad request", "", "", ev(`"good":1,"total":1,"bad":0`), 400, `unknown field "bad"`},
		{"trailing data is a bad request", "", "", ev(`"good":1,"total":1`) + `{}`, 400, "unexpected data"},
		{"an empty batch is a bad request", "", "", `[]`, 400, "no events"},
		{"a missing service is a bad request", "", "", `{"slo":"x","good":1,"total":1}`, 400, "service is required"},
		{"a missing good is a bad request", "", "", ev(`"total":1`), 400, "good is required"},
		{"a missing total is a bad request", "", "", ev(`"good":1`), 400, "total is required"},
		{"a string count is a bad request", "", "", ev(`"good":"1","total":1`), 400, "invalid JSON"},
		{"a negative count is a bad request", "", "", ev(`"good":-1,"total":1`), 400, "good is -1; want a finite number >= 0"},
		{"good above total is a bad request", "", "", ev(`"good":5,"total":3`), 400, "good 5 is greater than total 3"},
		{"a malformed timestamp is a bad request", "", "", ev(`"good":1,"total":1,"timestamp":"yesterday"`), 400, `timestamp "yesterday" is not RFC 3339`},
		{"a timestamp far in the future is a bad request", "", "", ev(`"good":1,"total":1,"timestamp":"2026-11-25T10:06:00Z"`), 400, "in the future"},
		{"a timestamp older than the maximum age is a bad request", "", "", ev(`"good":1,"total":1,"timestamp":"2026-11-25T08:59:00Z"`), 400, "older than the maximum age 1h0m0s"},
		{"an unknown service is not found", "", "", `{"service":"nope","slo":"success","good":1,"total":1}`, 404, `unknown service "nope"`},
		{"an unknown slo is not found", "", "", `{"service":"nightly-export","slo":"nope","good":1,"total":1}`, 404, `service "nightly-export" has no slo "nope"`},
		{"an slo that is not push conflicts", "", "", `{"service":"nightly-export","slo":"scraped","good":1,"total":1}`, 409, "sli is not push"},
		{"one bad event rejects the whole batch", "", "", `[` + ev(`"good":1,"total":1`) + `,` + ev(`"good":2,"total":1`) + `]`, 400, "event 1: good 2 is greater than total 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &fakeSink{}
			srv := newPushServer(t, sink)
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, srv.URL+"/api/v1/events", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			switch tt.contentType {
			case "":
				req.Header.Set("Content-Type", "application/json")
			case "-":
			default:
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			var got struct{ Error string }
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("body %s is not JSON: %v", body, err)
			}
			if resp.StatusCode != tt.wantStatus || !strings.Contains(got.Error, tt.wantError) {
				t.Errorf("got %d %s, want %d with an error containing %q", resp.StatusCode, body, tt.wantStatus, tt.wantError)
			}
			if incs := sink.increases(); len(incs) != 0 {
				t.Errorf("got increases %v stored, want none", incs)
			}
		})
	}
}

func TestPushAnswersOnlyAfterTheSinkStored(t *testing.T) {
	sink := &fakeSink{RecordFunc: func([]Increase, []Checkpoint) error { return errors.New("database is locked") }}
	srv := newPushServer(t, sink)
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(`{"service":"nightly-export","slo":"success","good":1,"total":1}`))
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "locked") || !strings.Contains(body, "not stored") {
		t.Errorf("got %d %s, want 500 saying the events were not stored, without internals", resp.StatusCode, body)
	}
}

func TestNewPushRequiresASink(t *testing.T) {
	if _, err := NewPush(PushConfig{}); err == nil || !strings.Contains(err.Error(), "sink is required") {
		t.Errorf("got error %v, want one saying the sink is required", err)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
