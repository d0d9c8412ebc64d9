package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/slogate/slogate/alerting/state"
	"github.com/slogate/slogate/slo"
	uiapi "github.com/slogate/slogate/ui/api"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// clock is a settable clock, safe to read from the server's goroutines.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// writeToken is the one token the test server accepts for changes.
const writeToken = "Bearer writer"

// silenceServer is slogate's API reduced to the silence routes, over
// loopback, on a real store in path.
type silenceServer struct {
	url   string
	clock *clock
	store *state.Store
}

func startSilenceServer(t *testing.T, path string) *silenceServer {
	t.Helper()
	st, err := state.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: t0}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = uiapi.ErrorHandler(func(err error, c echo.Context) {
		t.Logf("%s %s: internal error: %v", c.Request().Method, c.Request().URL, err)
	})
	read := func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	write := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Header.Get("Authorization") != writeToken {
				return echo.NewHTTPError(http.StatusUnauthorized, "missing or invalid bearer token")
			}
			return next(c)
		}
	}
	h := &SilenceHandler{
		Store: st,
		Actor: func(echo.Context) string { return "alice" },
		Services: map[string]*slo.Service{
			"checkout": {Name: "checkout", SLOs: []slo.SLO{{Name: "availability"}, {Name: "latency"}}},
			"search":   {Name: "search", SLOs: []slo.SLO{{Name: "availability"}}},
		},
		Now: clk.Now,
	}
	h.Register(e.Group("/api/v1"), read, write)
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	return &silenceServer{url: srv.URL + "/api/v1", clock: clk, store: st}
}

// reply is any answer of the silence routes.
type reply struct {
	silenceJSON
	Silences []silenceJSON `json:"silences"`
	Ack      *state.Ack    `json:"ack"`
	Error    string        `json:"error"`
}

// call makes a request, with the write token when auth is set, and
// returns the status, the decoded answer and the raw body.
func (s *silenceServer) call(t *testing.T, method, path, body string, auth bool) (int, reply, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		req.Header.Set("Authorization", writeToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r reply
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%s %s answered %d with a body that is not JSON: %q", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, r, string(raw)
}

// expect checks the status and, for errors, that the message says want.
func expect(t *testing.T, status int, r reply, raw string, wantStatus int, wantErr string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d; body %s", status, wantStatus, raw)
	}
	if wantErr != "" && !strings.Contains(r.Error, wantErr) {
		t.Fatalf("error %q, want it to say %q", r.Error, wantErr)
	}
}

func TestAddSilence(t *testing.T) {
	srv := startSilenceServer(t, filepath.Join(t.TempDir(), "slogate.db"))
	tests := []struct {
		name        string
		body        string
		noAuth      bool
		contentType string
		wantStatus  int
		wantErr     string
		want        state.Silence // checked on 201, but for ID and CreatedAt
		wantState   string
	}{
		{name: "sets a silence of every SLO for a duration",
			body:       `{"service":"checkout","duration":"2h","reason":"planned failover"}`,
			wantStatus: http.StatusCreated, wantState: state.StateActive,
			want: state.Silence{Service: "checkout", StartsAt: t0, EndsAt: t0.Add(2 * time.Hour), Reason: "planned failover", Author: "alice"}},
		{name: "sets a silence of one SLO until a time",
			body:       `{"service":"checkout","slo":"latency","endsAt":"2026-11-25T11:30:00Z","reason":"load test"}`,
			wantStatus: http.StatusCreated, wantState: state.StateActive,
			want: state.Silence{Service: "checkout", SLO: "latency", StartsAt: t0, EndsAt: t0.Add(90 * time.Minute), Reason: "load test", Author: "alice"}},
		{name: "counts days in a duration",
			body:       `{"service":"search","duration":"1d","reason":"reindex"}`,
			wantStatus: http.StatusCreated, wantState: state.StateActive,
			want: state.Silence{Service: "search", StartsAt: t0, EndsAt: t0.Add(24 * time.Hour), Reason: "reindex", Author: "alice"}},
		{name: "counts a duration from a later start, pending until then",
			body:       `{"service":"search","startsAt":"2026-11-25T12:00:00+01:00","duration":"90m","reason":"maintenance"}`,
			wantStatus: http.StatusCreated, wantState: state.StatePending,
			want: state.Silence{Service: "search", StartsAt: t0.Add(time.Hour), EndsAt: t0.Add(150 * time.Minute), Reason: "maintenance", Author: "alice"}},
		{name: "refuses a caller without a token", noAuth: true,
			body:       `{"service":"checkout","duration":"2h","reason":"r"}`,
			wantStatus: http.StatusUnauthorized, wantErr: "bearer token"},
		{name: "refuses a missing service", body: `{"duration":"2h","reason":"r"}`,
			wantStatus: http.StatusBadRequest, wantErr: "service: required"},
		{name: "refuses an unknown service, suggesting the one meant", body: `{"service":"chekout","duration":"2h","reason":"r"}`,
			wantStatus: http.StatusBadRequest, wantErr: `service: unknown service "chekout"; did you mean "checkout"?`},
		{name: "refuses an unknown service, listing the known ones", body: `{"service":"billing","duration":"2h","reason":"r"}`,
			wantStatus: http.StatusBadRequest, wantErr: `service: unknown service "billing"; known services: checkout, search`},
		{name: "refuses an unknown SLO, suggesting the one meant", body: `{"service":"checkout","slo":"latncy","duration":"2h","reason":"r"}`,
			wantStatus: http.StatusBadRequest, wantErr: `slo: service "checkout" has no SLO "latncy"; did you mean "latency"?`},
		{name: "refuses an SLO of another service", body: `{"service":"search","slo":"latency","duration":"2h","reason":"r"}`,
			wantStatus: http.StatusBadRequest, wantErr: `slo: service "search" has no SLO "latency"`},
		{name: "refuses a missing reason", body: `{"service":"checkout","duration":"2h","reason":"  "}`,
			wantStatus: http.StatusBadRequest, wantErr: "reason: required"},
		{name: "refuses an end before the start",
			body:       `{"service":"checkout","startsAt":"2026-11-25T12:00:00Z","endsAt":"2026-11-25T11:00:00Z","reason":"r"}`,
			wantStatus: http.StatusBadRequest, wantErr: "endsAt: must be after startsAt"},
		{name: "refuses an end in the past", body: `{"service":"checkout","endsAt":"2026-11-25T09:00:00Z","reason":"r"}`,
			wantStatus: http.StatusBadRequest, wantErr: "endsAt: must be in the future"},
		{name: "refuses both an end and a duration",
			body:       `{"service":"checkout","endsAt":"2026-11-25T12:00:00Z","duration":"2h","reason":"r"}`,
			wantStatus: http.StatusBadRequest, wantErr: "duration: cannot be given with endsAt"},
		{name: "refuses neither an end nor a duration", body: `{"service":"checkout","reason":"r"}`,
			wantStatus: http.StatusBadRequest, wantErr: "endsAt: required"},
		{name: "refuses a duration that is not one", body: `{"service":"checkout","duration":"soon","reason":"r"}`,
			wantStatus: http.StatusBadRequest, wantErr: `duration: must be a positive duration such as 90m, 2h or 1d, got "soon"`},
		{name: "refuses a negative duration", body: `{"service":"checkout","duration":"-1h","reason":"r"}`,
			wantStatus: http.StatusBadRequest, wantErr: "duration: must be a positive duration"},
		{name: "refuses a start that is not a time", body: `{"service":"checkout","startsAt":"tomorrow","duration":"1h","reason":"r"}`,
			wantStatus: http.StatusBadRequest, wantErr: `startsAt: must be an RFC 3339 time`},
		{name: "refuses an end that is not a time", body: `{"service":"checkout","endsAt":"1700000000","reason":"r"}`,
			wantStatus: http.StatusBadRequest, wantErr: `endsAt: must be an RFC 3339 time`},
		{name: "refuses an unknown field, such as an author the token does not vouch for",
			body:       `{"service":"checkout","duration":"2h","reason":"r","author":"mallory"}`,
			wantStatus: http.StatusBadRequest, wantErr: "author: unknown field"},
		{name: "refuses a field of the wrong type", body: `{"service":"checkout","duration":"2h","reason":5}`,
			wantStatus: http.StatusBadRequest, wantErr: "reason: must be a string, got number"},
		{name: "refuses trailing data", body: `{"service":"checkout","duration":"2h","reason":"r"} {}`,
			wantStatus: http.StatusBadRequest, wantErr: "body: trailing data"},
		{name: "refuses an empty body", body: ``,
			wantStatus: http.StatusBadRequest, wantErr: "body: empty"},
		{name: "refuses a body that is not JSON", body: `service=checkout`, contentType: "application/x-www-form-urlencoded",
			wantStatus: http.StatusUnsupportedMediaType, wantErr: "body must be application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.url+"/silences", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if !tt.noAuth {
				req.Header.Set("Authorization", writeToken)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var r reply
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
			}
			expect(t, resp.StatusCode, r, string(raw), tt.wantStatus, tt.wantErr)
			if tt.wantStatus != http.StatusCreated {
				return
			}
			got := r.Silence
			if got.ID == 0 || !got.CreatedAt.Equal(t0) {
				t.Errorf("id %d, createdAt %s; want an id and %s", got.ID, got.CreatedAt, t0)
			}
			got.ID, got.CreatedAt = 0, time.Time{}
			if got != tt.want {
				t.Errorf("silence =\n%+v\nwant\n%+v", got, tt.want)
			}
			if r.State != tt.wantState {
				t.Errorf("state %q, want %q", r.State, tt.wantState)
			}
			if strings.Contains(string(raw), "expiredAt") || strings.Contains(string(raw), "expiredBy") {
				t.Errorf("a silence never expired shows expiredAt or expiredBy: %s", raw)
			}
			if stored, err := srv.store.Silence(context.Background(), r.ID); err != nil || stored != r.Silence {
				t.Errorf("stored silence = %+v, %v; want what was answered: %+v", stored, err, r.Silence)
			}
		})
	}
}

func TestListSilences(t *testing.T) {
	srv := startSilenceServer(t, filepath.Join(t.TempDir(), "slogate.db"))
	post := func(body string) int64 {
		t.Helper()
		status, r, raw := srv.call(t, http.MethodPost, "/silences", body, true)
		expect(t, status, r, raw, http.StatusCreated, "")
		return r.ID
	}
	active := post(`{"service":"checkout","duration":"2h","reason":"failover"}`)
	pending := post(`{"service":"checkout","slo":"latency","startsAt":"2026-11-25T11:00:00Z","duration":"1h","reason":"load test"}`)
	expired := post(`{"service":"search","duration":"2h","reason":"reindex"}`)
	status, r, raw := srv.call(t, http.MethodDelete, "/silences/"+itoa(expired), "", true)
	expect(t, status, r, raw, http.StatusOK, "")
	srv.clock.Set(t0.Add(time.Minute))

	tests := []struct {
		name       string
		query      string
		wantStatus int
		wantErr    string
		want       []int64
		wantStates []string
	}{
		{name: "lists every silence newest first by default", query: "",
			wantStatus: http.StatusOK, want: []int64{expired, pending, active},
			wantStates: []string{state.StateExpired, state.StatePending, state.StateActive}},
		{name: "lists every silence for state all", query: "?state=all",
			wantStatus: http.StatusOK, want: []int64{expired, pending, active}},
		{name: "lists the active ones", query: "?state=active",
			wantStatus: http.StatusOK, want: []int64{active}, wantStates: []string{state.StateActive}},
		{name: "lists the pending ones", query: "?state=pending",
			wantStatus: http.StatusOK, want: []int64{pending}, wantStates: []string{state.StatePending}},
		{name: "lists the expired ones", query: "?state=expired",
			wantStatus: http.StatusOK, want: []int64{expired}, wantStates: []string{state.StateExpired}},
		{name: "lists one service's", query: "?service=checkout",
			wantStatus: http.StatusOK, want: []int64{pending, active}},
		{name: "lists one service's in one state", query: "?service=search&state=active",
			wantStatus: http.StatusOK, want: []int64{}},
		{name: "stops at the limit", query: "?limit=2",
			wantStatus: http.StatusOK, want: []int64{expired, pending}},
		{name: "refuses an unknown service", query: "?service=serch",
			wantStatus: http.StatusBadRequest, wantErr: `service: unknown service "serch"; did you mean "search"?`},
		{name: "refuses an unknown state", query: "?state=silenced",
			wantStatus: http.StatusBadRequest, wantErr: `state: must be one of active, pending, expired, all, got "silenced"`},
		{name: "refuses a limit of none", query: "?limit=0",
			wantStatus: http.StatusBadRequest, wantErr: "limit: must be a whole number from 1 to 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, r, raw := srv.call(t, http.MethodGet, "/silences"+tt.query, "", false)
			expect(t, status, r, raw, tt.wantStatus, tt.wantErr)
			if tt.wantStatus != http.StatusOK {
				return
			}
			if !strings.Contains(raw, `"silences":[`) {
				t.Errorf("body %s, want a silences list, even an empty one", raw)
			}
			var ids []int64
			var states []string
			for _, s := range r.Silences {
				ids, states = append(ids, s.ID), append(states, s.State)
			}
			if !slices.Equal(ids, tt.want) && !(len(ids) == 0 && len(tt.want) == 0) {
				t.Errorf("silences %v, want %v", ids, tt.want)
			}
			if tt.wantStates != nil && !slices.Equal(states, tt.wantStates) {
				t.Errorf("states %q, want %q", states, tt.wantStates)
			}
		})
	}
}

func TestGetAndExpireSilence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slogate.db")
	srv := startSilenceServer(t, path)
	status, r, raw := srv.call(t, http.MethodPost, "/silences", `{"service":"checkout","duration":"2h","reason":"failover"}`, true)
	expect(t, status, r, raw, http.StatusCreated, "")
	id := itoa(r.ID)
	later := t0.Add(10 * time.Minute)

	steps := []struct {
		name       string
		method     string
		path       string
		noAuth     bool
		wantStatus int
		wantErr    string
		wantState  string
	}{
		{name: "reads a silence", method: http.MethodGet, path: "/silences/" + id, noAuth: true,
			wantStatus: http.StatusOK, wantState: state.StateActive},
		{name: "refuses to expire without a token", method: http.MethodDelete, path: "/silences/" + id, noAuth: true,
			wantStatus: http.StatusUnauthorized, wantErr: "bearer token"},
		{name: "expires a silence", method: http.MethodDelete, path: "/silences/" + id,
			wantStatus: http.StatusOK, wantState: state.StateExpired},
		{name: "refuses to expire it again", method: http.MethodDelete, path: "/silences/" + id,
			wantStatus: http.StatusConflict, wantErr: "silence " + id + " has already expired"},
		{name: "reads it expired", method: http.MethodGet, path: "/silences/" + id,
			wantStatus: http.StatusOK, wantState: state.StateExpired},
		{name: "does not find an unknown silence", method: http.MethodGet, path: "/silences/999",
			wantStatus: http.StatusNotFound, wantErr: "silence 999 not found"},
		{name: "does not expire an unknown silence", method: http.MethodDelete, path: "/silences/999",
			wantStatus: http.StatusNotFound, wantErr: "silence 999 not found"},
		{name: "refuses an id that is not a number", method: http.MethodGet, path: "/silences/abc",
			wantStatus: http.StatusBadRequest, wantErr: `id: must be a silence's number, got "abc"`},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			srv.clock.Set(later)
			status, r, raw := srv.call(t, st.method, st.path, "", !st.noAuth)
			expect(t, status, r, raw, st.wantStatus, st.wantErr)
			if st.wantState != "" && r.State != st.wantState {
				t.Errorf("state %q, want %q", r.State, st.wantState)
			}
			if st.wantState == state.StateExpired && (r.ExpiredBy != "alice" || !r.ExpiredAt.Equal(later)) {
				t.Errorf("expired at %s by %q, want at %s by alice", r.ExpiredAt, r.ExpiredBy, later)
			}
		})
	}

	t.Run("the expiry survives a restart", func(t *testing.T) {
		srv.store.Close()
		again := startSilenceServer(t, path)
		again.clock.Set(later)
		status, r, raw := again.call(t, http.MethodGet, "/silences/"+id, "", false)
		expect(t, status, r, raw, http.StatusOK, "")
		if r.State != state.StateExpired || r.ExpiredBy != "alice" {
			t.Errorf("after restart: state %q, expired by %q; want expired by alice", r.State, r.ExpiredBy)
		}
	})
}

func TestAcks(t *testing.T) {
	srv := startSilenceServer(t, filepath.Join(t.TempDir(), "slogate.db"))
	const key = "checkout/page/1764000000"
	first := state.Ack{Key: key, By: "alice", Comment: "on it", At: t0}
	steps := []struct {
		name       string
		method     string
		path       string
		body       string
		noAuth     bool
		at         time.Time
		wantStatus int
		wantErr    string
		want       *state.Ack
	}{
		{name: "does not find an alert nobody acknowledged", method: http.MethodGet, path: "/acks?key=" + key,
			wantStatus: http.StatusNotFound, wantErr: `alert "checkout/page/1764000000" is not acknowledged`},
		{name: "refuses to acknowledge without a token", method: http.MethodPost, path: "/acks", noAuth: true,
			body: `{"key":"` + key + `"}`, wantStatus: http.StatusUnauthorized, wantErr: "bearer token"},
		{name: "refuses an acknowledgement without key", method: http.MethodPost, path: "/acks",
			body: `{"comment":"on it"}`, wantStatus: http.StatusBadRequest, wantErr: "key: required"},
		{name: "refuses an unknown field", method: http.MethodPost, path: "/acks",
			body: `{"key":"` + key + `","by":"mallory"}`, wantStatus: http.StatusBadRequest, wantErr: "by: unknown field"},
		{name: "acknowledges an alert as the token's owner", method: http.MethodPost, path: "/acks",
			body: `{"key":"` + key + `","comment":"on it"}`, at: t0, wantStatus: http.StatusOK, want: &first},
		{name: "keeps the first acknowledgement", method: http.MethodPost, path: "/acks",
			body: `{"key":"` + key + `","comment":"me too"}`, at: t0.Add(time.Minute), wantStatus: http.StatusOK, want: &first},
		{name: "reads the acknowledgement", method: http.MethodGet, path: "/acks?key=" + key,
			wantStatus: http.StatusOK, want: &first},
		{name: "refuses a read without key", method: http.MethodGet, path: "/acks",
			wantStatus: http.StatusBadRequest, wantErr: "key: required"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if !st.at.IsZero() {
				srv.clock.Set(st.at)
			}
			status, r, raw := srv.call(t, st.method, st.path, st.body, !st.noAuth)
			expect(t, status, r, raw, st.wantStatus, st.wantErr)
			if st.want != nil && (r.Ack == nil || *r.Ack != *st.want) {
				t.Errorf("ack = %+v, want %+v", r.Ack, st.want)
			}
		})
	}
}

func TestRegisterNeedsAStoreAndAnActor(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Register without a Store did not panic")
		}
	}()
	(&SilenceHandler{Actor: func(echo.Context) string { return "alice" }}).Register(echo.New().Group("/api/v1"), nil, nil)
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
