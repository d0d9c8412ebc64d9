package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/alerting/oncall"
	"github.com/slogate/slogate/slo"
	uiapi "github.com/slogate/slogate/ui/api"
)

// directoryConfig has a team with a weekly rotation (bob's week at t0,
// alice's next from Monday 30 November 09:00 Berlin time) and one without.
const directoryConfig = `specs: [specs]
smtp: {addr: "smtp.example.com:587", from: slogate@example.com}
people:
  - {name: alice, email: alice@example.com}
  - {name: bob, email: bob@example.com}
  - {name: dave}
receivers:
  - {name: payments-mail, type: email, to: payments@example.com}
teams:
  - name: payments
    members: [alice, bob]
    channel: payments-mail
    rotation: {shift: 7d, handoff: {weekday: mon, time: "09:00"}, timeZone: Europe/Berlin, start: 2026-11-02}
  - name: checkout
    members: [dave]
`

// alertingServer serves the on-call and rules routes of h over loopback,
// with the directory of directoryConfig and the clock at t0.
func alertingServer(t *testing.T, services map[string]*slo.Service) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "slogate.yaml")
	if err := os.WriteFile(path, []byte(directoryConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := slo.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := oncall.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = uiapi.ErrorHandler(func(err error, c echo.Context) {
		t.Logf("%s %s: internal error: %v", c.Request().Method, c.Request().URL, err)
	})
	open := func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	h := &Handler{Directory: dir, Services: services, Now: func() time.Time { return t0 }}
	h.Register(e.Group("/api/v1"), open, open)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v1"
}

// get returns the status and raw body of a GET.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// sameJSON reports whether a and b decode to the same value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

func TestOnCallOfEveryTeam(t *testing.T) {
	base := alertingServer(t, map[string]*slo.Service{})
	status, body := get(t, base+"/oncall")
	if status != http.StatusOK {
		t.Fatalf("got %d %s, want 200", status, body)
	}
	var got struct {
		Teams []struct {
			Team    string          `json:"team"`
			Members []string        `json:"members"`
			Channel string          `json:"channel"`
			OnCall  json.RawMessage `json:"onCall"`
		} `json:"teams"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tm := range got.Teams {
		names = append(names, tm.Team)
	}
	if want := []string{"checkout", "payments"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("got teams %v, want %v, sorted", names, want)
	}
	checkout, payments := got.Teams[0], got.Teams[1]
	cases := []struct {
		name string
		ok   bool
		got  any
	}{
		{"a team lists its members", reflect.DeepEqual(payments.Members, []string{"alice", "bob"}), payments.Members},
		{"a team names its channel", payments.Channel == "payments-mail", payments.Channel},
		{"a team without a channel has an empty one", checkout.Channel == "", checkout.Channel},
		{"a team without a rotation has nobody on call", string(checkout.OnCall) == "null", string(checkout.OnCall)},
		{"a team with a rotation says who is on call and next", strings.Contains(string(payments.OnCall), `"current":{"person":"bob"`) &&
			strings.Contains(string(payments.OnCall), `"next":{"person":"alice"`), string(payments.OnCall)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Errorf("got %v", c.got)
			}
		})
	}
	t.Run("a team's on call is what GET /oncall/{team} answers", func(t *testing.T) {
		status, one := get(t, base+"/oncall/payments")
		if status != http.StatusOK || !sameJSON(t, payments.OnCall, one) {
			t.Errorf("got %s, want %d %s", payments.OnCall, status, one)
		}
	})
}

func TestRules(t *testing.T) {
	zero, five := 0.0, 5.0
	month := slo.Window{Period: slo.Month}
	services := map[string]*slo.Service{
		"checkout": {Name: "checkout", SLOs: []slo.SLO{
			{Name: "availability", Win: slo.Window{Rolling: 28 * 24 * time.Hour}},
			{Name: "latency", Win: month, Alerting: &slo.SLOAlerting{MinBadEvents: &five, Rules: []slo.AlertRule{
				{Severity: "page", Long: model.Duration(time.Hour), Short: model.Duration(5 * time.Minute), Burn: 20},
				{Severity: "ticket", Long: model.Duration(72 * time.Hour), Short: model.Duration(6 * time.Hour), Burn: 1.5},
			}}},
		}},
		"nightly-export": {Name: "nightly-export", SLOs: []slo.SLO{
			{Name: "success", Win: slo.Window{Rolling: 7 * 24 * time.Hour}, Alerting: &slo.SLOAlerting{MinBadEvents: &zero, Rules: []slo.AlertRule{}}},
		}},
	}
	base := alertingServer(t, services)
	cases := []struct {
		name    string
		service string
		status  int
		want    string // the JSON answer, or a substring of the error
	}{
		{"an SLO without alerting settings has the workbook's rules scaled to its window, and one with its own has them",
			"checkout", 200, `{"service": "checkout", "slos": [
				{"slo": "availability", "minBadEvents": 10, "rules": [
					{"severity": "page", "long": "1h", "short": "5m", "burn": 13.44},
					{"severity": "page", "long": "6h", "short": "30m", "burn": 5.6},
					{"severity": "ticket", "long": "1d", "short": "2h", "burn": 2.8},
					{"severity": "ticket", "long": "3d", "short": "6h", "burn": 0.9333333333333333}]},
				{"slo": "latency", "minBadEvents": 5, "rules": [
					{"severity": "page", "long": "1h", "short": "5m", "burn": 20},
					{"severity": "ticket", "long": "3d", "short": "6h", "burn": 1.5}]}]}`},
		{"an SLO without burn-rate rules or low-traffic guard has an empty list and 0",
			"nightly-export", 200, `{"service": "nightly-export", "slos": [{"slo": "success", "minBadEvents": 0, "rules": []}]}`},
		{"an unknown service is a 404 naming the closest", "chekout", 404, `service \"chekout\" not found; did you mean \"checkout\"?`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := get(t, base+"/rules/"+c.service)
			if status != c.status {
				t.Fatalf("got %d %s, want %d", status, body, c.status)
			}
			if status != 200 {
				if !strings.Contains(string(body), c.want) {
					t.Errorf("got %s, want an error saying %s", body, c.want)
				}
				return
			}
			if !sameJSON(t, body, []byte(c.want)) {
				t.Errorf("got  %s\nwant %s", body, c.want)
			}
		})
	}
}
