package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	def := now.Add(-time.Hour)
	cases := []struct {
		name, in string
		want     time.Time
		wantErr  bool
	}{
		{"empty gives the default", "", def, false},
		{"now is now", "now", now, false},
		{"now minus a Prometheus duration", "now-2d", now.Add(-48 * time.Hour), false},
		{"RFC 3339 with a zone", "2026-11-25T13:00:00+01:00", now, false},
		{"Unix seconds with a fraction", "1795608000.5", time.Unix(1795608000, 5e8).UTC(), false},
		{"a word is refused", "yesterday", time.Time{}, true},
		{"now minus nonsense is refused", "now-xyz", time.Time{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseTime(c.in, now, def)
			if (err != nil) != c.wantErr || !got.Equal(c.want) {
				t.Fatalf("parseTime(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.wantErr)
			}
		})
	}
}

func TestParseStep(t *testing.T) {
	cases := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"5m", 5 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"1d", 24 * time.Hour, false},
		{"90", 90 * time.Second, false},
		{"0", 0, true},
		{"-5", 0, true},
		{"soon", 0, true},
	}
	for _, c := range cases {
		got, err := parseStep(c.in)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("parseStep(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.wantErr)
		}
	}
}

func TestErrorHandlerShowsUserErrorsAndHidesInternalOnes(t *testing.T) {
	var logged []error
	h := ErrorHandler(func(err error, c echo.Context) { logged = append(logged, err) })
	e := echo.New()
	cases := []struct {
		name       string
		err        error
		wantStatus int
		wantMsg    string
	}{
		{"an API error keeps its status and message", Errorf(404, "service %q not found", "x"), 404, `service "x" not found`},
		{"an echo error keeps its status", echo.NewHTTPError(http.StatusMethodNotAllowed), 405, "Method Not Allowed"},
		{"anything else is an internal error", errors.New("disk I/O error at /var/lib/x"), 500, "internal error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h(c.err, e.NewContext(httptest.NewRequest("GET", "/", nil), rec))
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", rec.Body, err)
			}
			if rec.Code != c.wantStatus || body["error"] != c.wantMsg {
				t.Fatalf("got %d %q, want %d %q", rec.Code, body["error"], c.wantStatus, c.wantMsg)
			}
		})
	}
	if len(logged) != 1 {
		t.Fatalf("logged %d errors, want only the internal one", len(logged))
	}
}
