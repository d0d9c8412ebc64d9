package main

// Browser tests of the web UI against its DOM contract (ui/CONTRACT.md):
// a real slogate seeded with a day of history, driven by headless
// Chromium. Screenshots of every page land in $SLOGATE_SCREENSHOTS or
// .test-output/screenshots.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/common/model"

	gateapi "github.com/slogate/slogate/gate/api"
)

// uiToken may override the gate, silence alerts and record deploys.
const uiToken = "browser-test-token"

// uiFixture is a running slogate seeded for the browser tests.
type uiFixture struct {
	base     string
	services []string          // every service, sorted
	teams    map[string]string // service -> team
	hooks    *atomic.Int64     // notifications the team webhooks received
	deploys  map[string]int64  // "service version" -> deploy id
}

// uiSeries says how one SLO's history is made: total events a minute and
// how many of them are bad in minute m (minutes before now, 0 = now).
type uiSeries struct {
	service, slo string
	total        int
	bad          func(m int) int
}

// The fixture's story: checkout is burning fast right now after Bob's
// deploy (a page fires, the gate slows down), billing spent its budget
// hours ago, search-api, catalog (business hours only) and auth are
// healthy, and export has no data at all.
const (
	burning = "checkout"
	spent   = "billing"
	noData  = "export"
)

// trickle is a healthy service's few bad events: one in minute m when m is
// a multiple of every.
func trickle(every int) func(int) int {
	return func(m int) int {
		if m%every == 0 {
			return 1
		}
		return 0
	}
}

var uiHistory = []uiSeries{
	{burning, "availability", 1000, func(m int) int {
		if m < 25 {
			return 50 // 5% failing for 25 minutes: a burn of 50 against 99.9%
		}
		return trickle(9)(m)
	}},
	{burning, "latency", 1000, trickle(4)},
	{spent, "availability", 1000, func(m int) int {
		if m >= 9*60 && m < 12*60 {
			return 200 // an old outage that spent the week's budget
		}
		return trickle(7)(m)
	}},
	{"search-api", "availability", 500, trickle(11)},
	{"catalog", "availability", 300, trickle(13)},
	{"auth", "availability", 2000, trickle(5)},
}

// historyMinutes is how far back the seeded history goes.
const historyMinutes = 30 * 60

// seedUI starts slogate with six services over three teams, pushes
// historyMinutes of per-minute history, records deploys and a silence,
// and waits until the page for the burning service has fired and been
// delivered.
func seedUI(t *testing.T) *uiFixture {
	t.Helper()
	var hooks atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hooks.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(hook.Close)

	f := &uiFixture{hooks: &hooks, deploys: map[string]int64{}, teams: map[string]string{
		burning: "payments", spent: "payments",
		"search-api": "discovery", "catalog": "discovery",
		"auth": "platform", noData: "platform",
	}}
	files := map[string]string{
		"secrets/hmac": "browser-hmac-key\n",
		"specs/checkout.yaml": `name: checkout
description: Takes orders and payments.
owner: {team: payments}
runbook: https://runbooks.example.com/checkout
slos:
  - {name: availability, objective: 99.9, window: 28d, sli: {push: {}}}
  - {name: latency, objective: 99, window: 28d, sli: {push: {}}}
`,
		"specs/billing.yaml":    "name: billing\nowner: {team: payments}\nrunbook: https://runbooks.example.com/billing\nslos:\n  - {name: availability, objective: 99, window: 7d, sli: {push: {}}}\n",
		"specs/search-api.yaml": "name: search-api\nowner: {team: discovery}\nrunbook: https://runbooks.example.com/search-api\nslos:\n  - {name: availability, objective: 99.5, window: 28d, sli: {push: {}}}\n",
		"specs/catalog.yaml":    "name: catalog\nowner: {team: discovery}\nrunbook: https://runbooks.example.com/catalog\nslos:\n  - {name: availability, objective: 99, window: 28d, schedule: berlin-business-hours, sli: {push: {}}}\n",
		"specs/auth.yaml":       "name: auth\nowner: {team: platform}\nrunbook: https://runbooks.example.com/auth\nslos:\n  - {name: availability, objective: 99.9, window: 28d, sli: {push: {}}}\n",
		"specs/export.yaml":     "name: export\nowner: {team: platform}\nrunbook: https://runbooks.example.com/export\nslos:\n  - {name: success, objective: 99, window: 7d, sli: {push: {}}}\n",
		"slogate.yaml": fmt.Sprintf(`listen: 127.0.0.1:0
storage: data/slogate.db
specs: [specs]
evaluationInterval: 1s
externalURL: https://slogate.example.com
gate:
  impactWindow: 10m
auth:
  tokens:
    - {name: browser, sha256: %s, scopes: [gate:override, alerts:write, deploy:write]}
schedules:
  - name: berlin-business-hours
    timeZone: Europe/Berlin
    weekly: [{days: [mon-fri], hours: ["09:00-17:00"]}]
people:
  - {name: alice, email: alice@example.com}
  - {name: bob, email: bob@example.com}
  - {name: carol, email: carol@example.com}
  - {name: dave, email: dave@example.com}
  - {name: erin, email: erin@example.com}
  - {name: frank, email: frank@example.com}
teams:
  - {name: payments, members: [alice, bob], channel: payments-hook, rotation: {shift: 7d, timeZone: Europe/Berlin}}
  - {name: discovery, members: [carol, dave], channel: discovery-hook, rotation: {shift: 1d, timeZone: America/New_York}}
  - {name: platform, members: [erin, frank], channel: platform-hook, rotation: {shift: 7d, timeZone: UTC}}
receivers:
  - {name: payments-hook, type: webhook, url: %q, secretFile: secrets/hmac}
  - {name: discovery-hook, type: webhook, url: %q, secretFile: secrets/hmac}
  - {name: platform-hook, type: webhook, url: %q, secretFile: secrets/hmac}
`, gateapi.HashToken(uiToken), hook.URL+"/payments", hook.URL+"/discovery", hook.URL+"/platform"),
	}
	for s := range f.teams {
		f.services = append(f.services, s)
	}
	sort.Strings(f.services)

	ctx, cancel := context.WithCancel(context.Background())
	base, done := startServe(t, ctx, filepath.Join(writeFiles(t, files), "slogate.yaml"))
	f.base = base
	var feeding sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		feeding.Wait()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v on shutdown", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not shut down within 15s")
		}
	})

	now := time.Now().UTC().Truncate(time.Minute)
	var evs []string
	flush := func() {
		if len(evs) == 0 {
			return
		}
		if code, body := postJSON(t, base+"/api/v1/events", "["+strings.Join(evs, ",")+"]"); code != http.StatusOK {
			t.Fatalf("push: got %d %v", code, body)
		}
		evs = evs[:0]
	}
	for m := historyMinutes; m >= 0; m-- {
		ts := now.Add(-time.Duration(m) * time.Minute).Format(time.RFC3339)
		for _, s := range uiHistory {
			evs = append(evs, fmt.Sprintf(`{"service":%q,"slo":%q,"good":%d,"total":%d,"timestamp":%q}`,
				s.service, s.slo, s.total-s.bad(m), s.total, ts))
		}
		if len(evs) >= 5000 {
			flush()
		}
	}
	flush()

	// Keep the current minute fed, as live traffic would, so short burn
	// windows keep their data however long the tests take.
	feeding.Add(1)
	go func() {
		defer feeding.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Second):
			}
			var live []string
			for _, s := range uiHistory {
				total := s.total / 6
				live = append(live, fmt.Sprintf(`{"service":%q,"slo":%q,"good":%d,"total":%d}`,
					s.service, s.slo, total-s.bad(0)*total/s.total, total))
			}
			resp, err := http.Post(base+"/api/v1/events", "application/json", strings.NewReader("["+strings.Join(live, ",")+"]"))
			if err == nil {
				resp.Body.Close()
			}
		}
	}()

	for _, d := range []struct {
		service, version, author, message string
		ago                               time.Duration
	}{
		{"auth", "v0.9.1", "erin@example.com", "fix: token refresh race", 20 * time.Hour},
		{spent, "v4.0.0", "alice@example.com", "feat: invoices in PDF", 2 * time.Hour},
		{"search-api", "v1.8.0", "carol@example.com", "perf: cache facets", 3 * time.Hour},
		{burning, "v2.3.0", "bob@example.com", "feat: one-click checkout", 25 * time.Minute},
	} {
		code, body := request(t, "POST", base+"/api/v1/deploys", uiToken, fmt.Sprintf(
			`{"service":%q,"version":%q,"commit":"c0ffee%d","author":%q,"message":%q,"started_at":%q}`,
			d.service, d.version, len(f.deploys), d.author, d.message, now.Add(-d.ago).Format(time.RFC3339)))
		if code != http.StatusCreated {
			t.Fatalf("record deploy %s %s: got %d %v", d.service, d.version, code, body)
		}
		id, _ := body["id"].(float64)
		f.deploys[d.service+" "+d.version] = int64(id)
	}
	if code, body := request(t, "POST", base+"/api/v1/silences", uiToken,
		`{"service":"billing","slo":"availability","duration":"2h","reason":"invoice backfill"}`); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("create silence: got %d %v", code, body)
	}

	waitFor(t, 30*time.Second, "the page for "+burning, func() bool {
		return slices.Contains(f.firing(t), burning)
	})
	waitFor(t, 30*time.Second, "the degraded impact of "+burning+"'s deploy", func() bool {
		var ds struct {
			Deploys []struct {
				ID          int64  `json:"id"`
				ImpactClass string `json:"impact_class"`
			} `json:"deploys"`
		}
		getJSON(t, base+"/api/v1/deploys?service="+burning, &ds)
		return len(ds.Deploys) > 0 && ds.Deploys[0].ImpactClass == "degraded"
	})
	waitFor(t, 30*time.Second, "the page at the payments webhook", func() bool { return hooks.Load() > 0 })
	waitFor(t, 20*time.Second, "the gate to slow "+burning+" down", func() bool {
		return f.decision(t, burning) == "slow_down"
	})
	return f
}

// firing returns the services with a firing alert, from the API.
func (f *uiFixture) firing(t *testing.T) []string {
	t.Helper()
	var a struct {
		Alerts []struct{ Service, Severity, State string } `json:"alerts"`
	}
	getJSON(t, f.base+"/api/v1/alerts", &a)
	var out []string
	for _, al := range a.Alerts {
		if al.State == "firing" && !slices.Contains(out, al.Service) {
			out = append(out, al.Service)
		}
	}
	sort.Strings(out)
	return out
}

// decision returns the gate's decision for service, from the API.
func (f *uiFixture) decision(t *testing.T, service string) string {
	t.Helper()
	var a struct{ Decision string }
	getJSON(t, f.base+"/api/v1/gate/"+service, &a)
	return a.Decision
}

// servicesWhere returns the services for which keep holds, sorted.
func (f *uiFixture) servicesWhere(keep func(string) bool) []string {
	var out []string
	for _, s := range f.services {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// serviceStates returns each service's state from GET /api/v1/services.
func (f *uiFixture) serviceStates(t *testing.T) map[string]string {
	t.Helper()
	var list struct {
		Services []struct{ Name, State string } `json:"services"`
	}
	getJSON(t, f.base+"/api/v1/services", &list)
	out := map[string]string{}
	for _, s := range list.Services {
		out[s.Name] = s.State
	}
	return out
}

// onCallNow returns who is on call for team now, from the API.
func (f *uiFixture) onCallNow(t *testing.T, team string) string {
	t.Helper()
	var oc struct{ Current struct{ Person string } }
	getJSON(t, f.base+"/api/v1/oncall/"+team, &oc)
	return oc.Current.Person
}

// visibleServicesJS lists the [data-service] entries of #services that
// are displayed, in document order.
const visibleServicesJS = `[...document.querySelectorAll("#services [data-service]")]
	.filter(e => e.getClientRects().length > 0).map(e => e.dataset.service)`

func (b *browser) visibleServices() []string {
	b.t.Helper()
	var names []string
	b.eval(visibleServicesJS, &names)
	return names
}

// waitServices waits until the overview lists exactly want (in any
// order) and #service-count shows how many.
func (b *browser) waitServices(what string, want []string) {
	b.t.Helper()
	want = slices.Sorted(slices.Values(want))
	b.waitUntil(what, actionTimeout, func() (bool, string) {
		got := b.visibleServices()
		sorted := slices.Sorted(slices.Values(got))
		count := b.text("#service-count")
		return slices.Equal(sorted, want) && strings.Contains(count, strconv.Itoa(len(want))),
			fmt.Sprintf("services %v, #service-count %q; want %v", got, count, want)
	})
}

func TestBrowser(t *testing.T) {
	findBrowser(t)
	start := time.Now()
	f := seedUI(t)
	t.Logf("seeded %d services with %dh of history in %s", len(f.services), historyMinutes/60, time.Since(start).Round(time.Millisecond))

	t.Run("every page loads cleanly, is ready and is captured", func(t *testing.T) {
		b := newBrowser(t)
		pages := []struct{ name, path, ready string }{
			{"overview", "/", "overview"},
			{"service", "/services/" + burning, "service"},
			{"slo", "/services/" + burning + "/slos/latency", "service"},
			{"service-no-data", "/services/" + noData, "service"},
			{"service-business-hours", "/services/catalog", "service"},
			{"alerts", "/alerts", "alerts"},
			{"deploys", "/deploys", "deploys"},
			{"oncall", "/oncall", "oncall"},
		}
		for _, p := range pages {
			b.open(f.base+p.path, p.ready)
			b.requireElements(p.path, `nav a[href="/"]`, `nav a[href="/alerts"]`, `nav a[href="/deploys"]`, `nav a[href="/oncall"]`,
				"button#theme-toggle", "select#range", "select#refresh")
			b.screenshot(p.name)
			b.checkConsole("on " + p.path)
		}
	})

	t.Run("the overview shows every service with its gate, budget bars, alerts and on-call", func(t *testing.T) {
		b := newBrowser(t)
		b.open(f.base+"/", "overview")
		b.waitServices("every service on the overview", f.services)
		var rows []struct {
			Service, Gate, Alerts, OnCall string
			Link                          bool
			Bars                          []string
		}
		b.eval(`[...document.querySelectorAll("#services [data-service]")].map(e => ({
			service: e.dataset.service,
			link: !!e.querySelector('a[href="/services/' + e.dataset.service + '"]'),
			gate: (e.querySelector(".gate-badge") || {textContent: "<missing>"}).textContent.trim(),
			alerts: (e.querySelector(".alerts-count") || {textContent: "<missing>"}).textContent.trim(),
			onCall: (e.querySelector(".oncall") || {textContent: "<missing>"}).textContent.trim(),
			bars: [...e.querySelectorAll(".budget-bar[data-slo]")].map(b => b.dataset.slo),
		}))`, &rows)
		slos := map[string][]string{}
		for _, s := range uiHistory {
			slos[s.service] = append(slos[s.service], s.slo)
		}
		slos[noData] = []string{"success"}
		for _, r := range rows {
			if !r.Link {
				t.Errorf("%s: no link to /services/%s", r.Service, r.Service)
			}
			if want := slos[r.Service]; !slices.Equal(slices.Sorted(slices.Values(r.Bars)), slices.Sorted(slices.Values(want))) {
				t.Errorf("%s: budget bars for %v, want %v", r.Service, r.Bars, want)
			}
			wantGate := "ship"
			if f.decision(t, r.Service) == "slow_down" {
				wantGate = "slow"
			}
			if !strings.Contains(strings.ToLower(r.Gate), wantGate) {
				t.Errorf("%s: .gate-badge %q, want it to say %q", r.Service, r.Gate, wantGate)
			}
			if who := f.onCallNow(t, f.teams[r.Service]); !strings.Contains(r.OnCall, who) {
				t.Errorf("%s: .oncall %q, want %s", r.Service, r.OnCall, who)
			}
			if r.Alerts == "<missing>" {
				t.Errorf("%s: no .alerts-count", r.Service)
			}
		}
	})

	t.Run("both themes draw the overview", func(t *testing.T) {
		b := newBrowser(t)
		b.open(f.base+"/", "overview")
		theme := func() (string, string) {
			var s struct{ Theme, Background string }
			b.eval(`({theme: document.documentElement.dataset.theme || "",
				background: getComputedStyle(document.body).backgroundColor})`, &s)
			return s.Theme, s.Background
		}
		first, firstBg := theme()
		if first != "dark" {
			t.Errorf("a fresh browser starts with data-theme %q, want dark", first)
		}
		b.screenshot("theme-" + first)
		b.do("click #theme-toggle", chromedp.Click(chromedp.CSS("#theme-toggle"), chromedp.NodeVisible))
		var second, secondBg string
		b.waitUntil("the theme to change", actionTimeout, func() (bool, string) {
			second, secondBg = theme()
			return second != first && second != "", fmt.Sprintf("data-theme %q", second)
		})
		if second != "light" {
			t.Errorf("after the toggle data-theme is %q, want light", second)
		}
		if secondBg == firstBg {
			t.Errorf("the body background stays %s in both themes", firstBg)
		}
		b.screenshot("theme-" + second)
		b.open(f.base+"/", "overview")
		if again, _ := theme(); again != second {
			t.Errorf("after a reload data-theme is %q, want the chosen %q remembered", again, second)
		}
	})

	t.Run("the service page draws every chart", func(t *testing.T) {
		b := newBrowser(t)
		b.open(f.base+"/services/"+burning, "service")
		for _, slo := range []string{"availability", "latency"} {
			sec := fmt.Sprintf(`[data-slo=%q]`, slo)
			b.requireElements("the "+slo+" section",
				sec+" .panel-burndown .uplot canvas", sec+" .panel-sli .uplot canvas", sec+" .panel-burnrate .uplot canvas")
		}
		ink := b.canvasHasInk(".uplot canvas")
		if ink.Total < 6 || ink.Inked != ink.Total {
			t.Errorf("%d of %d chart canvases have ink, want all of at least 6; blank: %v", ink.Inked, ink.Total, ink.Blank)
		}
		b.requireElements("the service page", "#gate-status", "table#gate-history", "form#override-form")
		if s := strings.ToLower(b.text("#gate-status")); !strings.Contains(s, "slow") {
			t.Errorf("#gate-status says %q, want a slow-down", s)
		}
		b.screenshot("charts")

		b.open(f.base+"/services/"+burning+"/slos/latency", "service")
		var pos struct{ Top, Height float64 }
		b.eval(`(() => { const r = document.querySelector('[data-slo="latency"]').getBoundingClientRect();
			return {top: r.top, height: innerHeight}; })()`, &pos)
		if pos.Top < -1 || pos.Top >= pos.Height {
			t.Errorf("/slos/latency: the latency section is at %.0fpx, want it scrolled into the %.0fpx viewport", pos.Top, pos.Height)
		}
	})

	t.Run("search and filters narrow the overview", func(t *testing.T) {
		b := newBrowser(t)
		b.open(f.base+"/", "overview")
		b.waitServices("every service", f.services)

		before := b.renders()
		b.do("type in #search", chromedp.SendKeys(chromedp.CSS("#search"), burning, chromedp.NodeVisible))
		b.waitServices("a search by service name", []string{burning})
		if b.renders() <= before {
			t.Errorf("searching did not count a render (window.slogateRenders stays %d)", before)
		}
		b.setField("#search", "discovery")
		b.waitServices("a search by team", f.servicesWhere(func(s string) bool { return f.teams[s] == "discovery" }))
		who := f.onCallNow(t, "platform")
		b.setField("#search", who)
		b.waitServices("a search by on-call person "+who, f.servicesWhere(func(s string) bool { return f.teams[s] == "platform" }))
		b.setField("#search", "")
		b.waitServices("every service after clearing the search", f.services)

		b.setField("#team", "payments")
		b.waitServices("the payments team", f.servicesWhere(func(s string) bool { return f.teams[s] == "payments" }))
		b.setField("#team", "")

		states := f.serviceStates(t)
		firing := f.firing(t)
		for _, c := range []struct {
			status string
			want   []string
		}{
			{"slow_down", f.servicesWhere(func(s string) bool { return f.decision(t, s) == "slow_down" })},
			{"ship", f.servicesWhere(func(s string) bool { return f.decision(t, s) == "ship" })},
			{"firing", firing},
			{"no_data", f.servicesWhere(func(s string) bool { return states[s] == "no_data" })},
		} {
			if c.status == "slow_down" && !slices.Contains(c.want, burning) {
				t.Fatalf("the API does not slow %s down (slow_down: %v)", burning, c.want)
			}
			b.setField("#status", c.status)
			b.waitServices("status "+c.status, c.want)
		}
		b.setField("#status", "")
		b.waitServices("every service again", f.services)

		b.setField("#sort", "budget-asc")
		b.waitUntil(spent+" first by budget", actionTimeout, func() (bool, string) {
			got := b.visibleServices()
			return len(got) == len(f.services) && got[0] == spent, fmt.Sprint(got)
		})
		b.setField("#sort", "name")
		b.waitUntil("the services by name", actionTimeout, func() (bool, string) {
			got := b.visibleServices()
			return slices.Equal(got, f.services), fmt.Sprint(got)
		})
		b.screenshot("sorted")
	})

	t.Run("changing the time range changes the URL and the data", func(t *testing.T) {
		b := newBrowser(t)
		b.open(f.base+"/services/"+burning+"?range=24h", "service")
		if span := b.seriesSpans(t); len(span) == 0 || !near(span[len(span)-1], 24*time.Hour) {
			t.Fatalf("with range=24h the series requests span %v, want 24h", span)
		}
		seen := len(b.seriesSpans(t))
		before := b.renders()
		b.setField("#range", "6h")
		b.waitRerender("service", before)
		b.waitUntil("range=6h in the URL", actionTimeout, func() (bool, string) {
			u := b.state().URL
			return strings.Contains(u, "range=6h"), u
		})
		b.waitUntil("series requests for 6h", actionTimeout, func() (bool, string) {
			spans := b.seriesSpans(t)
			return len(spans) > seen && near(spans[len(spans)-1], 6*time.Hour), fmt.Sprint(spans[seen:])
		})
		ink := b.canvasHasInk(".uplot canvas")
		if ink.Total == 0 || ink.Inked != ink.Total {
			t.Errorf("after the range change %d of %d canvases have ink; blank: %v", ink.Inked, ink.Total, ink.Blank)
		}
		b.screenshot("range-6h")

		b.setField("#range", "custom")
		b.waitUntil("the custom range inputs", actionTimeout, func() (bool, string) {
			var vis []bool
			b.eval(`["input#from", "input#to", "button#apply-range"].map(s => { const e = document.querySelector(s); return !!e && e.getClientRects().length > 0; })`, &vis)
			return !slices.Contains(vis, false), fmt.Sprintf("#from, #to, #apply-range visible: %v", vis)
		})
	})

	t.Run("the override form reports a bad token and overrides with a good one", func(t *testing.T) {
		if d := f.decision(t, spent); d != "slow_down" {
			t.Fatalf("the gate says %s for %s, want slow_down to override", d, spent)
		}
		b := newBrowser(t)
		// The wrong token's 401 is meant to happen.
		b.allow(func(m chromedp.ConsoleMessage) bool {
			return m.Source == "network" && strings.Contains(m.Text, "401") && strings.Contains(m.URL, "/overrides")
		})
		b.open(f.base+"/services/"+spent, "service")
		var typ string
		b.eval(`(document.querySelector("input#override-token") || {}).type || ""`, &typ)
		if typ != "password" {
			t.Errorf("input#override-token has type %q, want password", typ)
		}
		b.setField("#override-reason", "invoice run must go out")
		b.setField("#override-duration", "4h")
		b.setField("#override-token", "not-the-token")
		b.do("submit the override form", chromedp.Click(chromedp.CSS(`form#override-form [type="submit"]`), chromedp.NodeVisible))
		b.waitUntil("the error for a wrong token", actionTimeout, func() (bool, string) {
			s := b.text("#override-result")
			return strings.Contains(s, "missing or invalid bearer token"), s
		})
		if s := b.text("#override-result"); strings.Contains(s, "override active") {
			t.Errorf("#override-result %q claims success for a wrong token", s)
		}
		b.screenshot("override-refused")

		b.setField("#override-token", uiToken)
		b.do("submit the override form again", chromedp.Click(chromedp.CSS(`form#override-form [type="submit"]`), chromedp.NodeVisible))
		b.waitUntil("the override to be confirmed", actionTimeout, func() (bool, string) {
			s := b.text("#override-result")
			return strings.Contains(s, "override active until"), s
		})
		var a struct {
			Allowed  bool
			Override *struct {
				Reason    string
				ExpiresAt time.Time `json:"expires_at"`
			}
		}
		getJSON(t, f.base+"/api/v1/gate/"+spent, &a)
		if a.Override == nil || a.Override.Reason != "invoice run must go out" || !a.Allowed {
			t.Fatalf("GET /api/v1/gate/%s after the override: %+v, want the override and allowed", spent, a)
		}
		if d := time.Until(a.Override.ExpiresAt); d < 3*time.Hour || d > 4*time.Hour+time.Minute {
			t.Errorf("the override expires in %s, want the 4h chosen", d.Round(time.Minute))
		}
		b.waitUntil("#gate-status to show the override", actionTimeout, func() (bool, string) {
			s := b.text("#gate-status")
			return strings.Contains(strings.ToLower(s), "override"), s
		})
		b.screenshot("override-active")
	})

	t.Run("alerts, deploys and on-call show what the API knows", func(t *testing.T) {
		b := newBrowser(t)
		b.open(f.base+"/alerts", "alerts")
		var firingKeys []string
		b.eval(`[...document.querySelectorAll("#alerts-firing [data-alert-key]")].map(e => e.textContent)`, &firingKeys)
		if !slices.ContainsFunc(firingKeys, func(s string) bool { return strings.Contains(s, burning) }) {
			t.Errorf("#alerts-firing rows %q, want the page for %s", firingKeys, burning)
		}
		if s := b.text("#notifications"); !strings.Contains(s, "payments-hook") {
			t.Errorf("#notifications says %q, want the delivery to payments-hook", abbrev(s))
		}
		if n := b.count("#silences [data-silence-id] button.expire-silence"); n != 1 {
			t.Errorf("got %d silences with an expire button, want 1", n)
		}
		b.requireElements("the alerts page", "#alerts-recent", "form#silence-form", "select#silence-service", "input#silence-slo",
			"select#silence-duration", "input#silence-reason", "input#silence-token", "#silence-result")

		b.open(f.base+"/deploys", "deploys")
		if n := b.count("[data-deploy-id]"); n != len(f.deploys) {
			t.Errorf("got %d deploy rows, want %d", n, len(f.deploys))
		}
		id := f.deploys[burning+" v2.3.0"]
		if s := b.text(fmt.Sprintf(`[data-deploy-id="%d"] .impact-badge`, id)); !strings.Contains(s, "degraded") {
			t.Errorf("the impact badge of %s v2.3.0 says %q, want degraded", burning, s)
		}
		b.setField("#deploy-service", burning)
		b.waitUntil("only "+burning+"'s deploy", actionTimeout, func() (bool, string) {
			var ids []string
			b.eval(`[...document.querySelectorAll("[data-deploy-id]")].filter(e => e.getClientRects().length > 0).map(e => e.dataset.deployId)`, &ids)
			return slices.Equal(ids, []string{strconv.FormatInt(id, 10)}), fmt.Sprint(ids)
		})
		b.setField("#deploy-service", "")
		b.setField("#deploy-author", "CAROL")
		want := strconv.FormatInt(f.deploys["search-api v1.8.0"], 10)
		b.waitUntil("only carol's deploy", actionTimeout, func() (bool, string) {
			var ids []string
			b.eval(`[...document.querySelectorAll("[data-deploy-id]")].filter(e => e.getClientRects().length > 0).map(e => e.dataset.deployId)`, &ids)
			return slices.Equal(ids, []string{want}), fmt.Sprint(ids)
		})

		b.open(f.base+"/oncall", "oncall")
		for _, team := range []string{"discovery", "payments", "platform"} {
			if s, who := b.text(fmt.Sprintf(`[data-team=%q] .oncall-now`, team)), f.onCallNow(t, team); !strings.Contains(s, who) {
				t.Errorf("%s .oncall-now says %q, want %s", team, s, who)
			}
			if s := b.text(fmt.Sprintf(`[data-team=%q] .oncall-next`, team)); s == "<missing>" || s == "" {
				t.Errorf("%s has no .oncall-next", team)
			}
		}
	})

	t.Run("a silence is created and expired from the alerts page", func(t *testing.T) {
		b := newBrowser(t)
		b.open(f.base+"/alerts", "alerts")
		before := b.count("#silences [data-silence-id]")
		b.setField("#silence-service", "search-api")
		b.setField("#silence-duration", b.firstOption("#silence-duration"))
		b.setField("#silence-reason", "load test in progress")
		b.setField("#silence-token", uiToken)
		renders := b.renders()
		b.do("submit the silence form", chromedp.Click(chromedp.CSS(`form#silence-form [type="submit"]`), chromedp.NodeVisible))
		b.waitRerender("alerts", renders)
		b.waitUntil("the new silence listed", actionTimeout, func() (bool, string) {
			n := b.count("#silences [data-silence-id]")
			return n == before+1, fmt.Sprintf("%d silences, result %q", n, b.text("#silence-result"))
		})
		type silence struct {
			ID              int64
			Service, Reason string
		}
		var list struct{ Silences []silence }
		getJSON(t, f.base+"/api/v1/silences?state=active", &list)
		var id int64
		for _, s := range list.Silences {
			if s.Service == "search-api" && s.Reason == "load test in progress" {
				id = s.ID
			}
		}
		if id == 0 {
			t.Fatalf("active silences %+v lack the one made in the browser", list.Silences)
		}
		b.screenshot("silence-created")

		b.do("expire the silence", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#silences [data-silence-id="%d"] button.expire-silence`, id)), chromedp.NodeVisible))
		b.waitUntil("the silence gone from the active list", actionTimeout, func() (bool, string) {
			return b.count(fmt.Sprintf(`#silences [data-silence-id="%d"]`, id)) == 0, b.text("#silence-result")
		})
		getJSON(t, f.base+"/api/v1/silences?state=expired", &list)
		if !slices.ContainsFunc(list.Silences, func(s silence) bool { return s.ID == id }) {
			t.Errorf("expired silences %+v lack %d", list.Silences, id)
		}
	})

	t.Run("every control is labelled and the nav is reachable by keyboard", func(t *testing.T) {
		b := newBrowser(t)
		for _, p := range []struct{ path, page string }{
			{"/", "overview"}, {"/services/" + burning, "service"}, {"/alerts", "alerts"}, {"/deploys", "deploys"}, {"/oncall", "oncall"},
		} {
			b.open(f.base+p.path, p.page)
			var unlabelled []string
			b.eval(`[...document.querySelectorAll("input, select, textarea, button")]
				.filter(e => e.type !== "hidden" && e.getClientRects().length > 0)
				.filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby") &&
					!(e.tagName === "BUTTON" && e.textContent.trim()))
				.map(e => e.outerHTML.slice(0, 80))`, &unlabelled)
			if len(unlabelled) > 0 {
				t.Errorf("%s: controls without a label: %q", p.path, unlabelled)
			}
		}
		b.open(f.base+"/", "overview")
		var reached []string
		for range 8 {
			b.do("press Tab", chromedp.KeyEvent("\t"))
			var href string
			b.eval(`document.activeElement ? (document.activeElement.getAttribute("href") || document.activeElement.id || document.activeElement.tagName) : ""`, &href)
			reached = append(reached, href)
		}
		for _, want := range []string{"/alerts", "/deploys", "/oncall"} {
			if !slices.Contains(reached, want) {
				t.Errorf("tabbing from the top reached %q, want the nav link %s among them", reached, want)
			}
		}
	})

	t.Run("the overview fits a phone", func(t *testing.T) {
		b := newBrowser(t)
		b.do("emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		b.open(f.base+"/", "overview")
		var widths struct{ Scroll, Inner int }
		b.eval(`({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})`, &widths)
		if widths.Scroll > widths.Inner+1 {
			t.Errorf("the overview is %d px wide on a %d px screen: it scrolls sideways", widths.Scroll, widths.Inner)
		}
		b.screenshot("phone-overview")
		b.open(f.base+"/services/"+burning, "service")
		if r := b.canvasHasInk(".uplot canvas"); r.Inked == 0 {
			t.Errorf("no chart drew on the phone: %+v", r)
		}
		b.screenshot("phone-service")
	})

	t.Run("auto-refresh is kept in the URL and re-renders", func(t *testing.T) {
		b := newBrowser(t)
		b.open(f.base+"/?refresh=10s", "overview")
		if v := b.value("#refresh"); v != "10s" {
			t.Errorf("#refresh is %q after opening ?refresh=10s, want 10s", v)
		}
		before := b.renders()
		b.waitUntil("a refresh within 10 s", 15*time.Second, func() (bool, string) {
			n := b.renders()
			return n > before, fmt.Sprintf("%d renders", n)
		})
		b.setField("#refresh", "off")
		var loc string
		b.eval(`location.search`, &loc)
		if strings.Contains(loc, "refresh=10s") {
			t.Errorf("URL %q still asks for a 10 s refresh after switching it off", loc)
		}
	})
}

// seriesSpans returns, for each series request the page made so far (from
// the Resource Timing entries), the span from its from to its to.
func (b *browser) seriesSpans(t *testing.T) []time.Duration {
	t.Helper()
	var urls []string
	b.eval(`performance.getEntriesByType("resource").map(e => e.name).filter(u => u.includes("/series"))`, &urls)
	now := time.Now()
	var spans []time.Duration
	for _, u := range urls {
		p, err := url.Parse(u)
		if err != nil {
			t.Fatalf("series request %s: %v", u, err)
		}
		q := p.Query()
		from, err := parseSeriesTime(q.Get("from"), now)
		if err != nil {
			t.Fatalf("series request %s: from: %v", u, err)
		}
		to := now
		if q.Get("to") != "" {
			if to, err = parseSeriesTime(q.Get("to"), now); err != nil {
				t.Fatalf("series request %s: to: %v", u, err)
			}
		}
		spans = append(spans, to.Sub(from))
	}
	return spans
}

// parseSeriesTime reads a series from or to as the API does: RFC 3339,
// Unix seconds, now or now-<duration>.
func parseSeriesTime(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "now-"):
		d, err := model.ParseDuration(strings.TrimPrefix(s, "now-"))
		return now.Add(-time.Duration(d)), err
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(0, int64(f*1e9)), nil
	}
	return time.Parse(time.RFC3339, s)
}

// near reports whether a span is want, give or take a few minutes of
// rounding to steps.
func near(got, want time.Duration) bool {
	d := got - want
	return d > -10*time.Minute && d < 10*time.Minute
}

// TestOverviewDraws1000Services measures how long the overview takes, from
// navigation start to every budget bar drawn (window.slogateTimings), for
// 1,000 services with a little history each, and checks every service and
// bar is there. It prints the best of three loads (the first may pay for
// cold caches) against the 1 s target. slogate runs as a separately built
// binary so that the figure is the product's, not the race detector's.
func TestOverviewDraws1000Services(t *testing.T) {
	findBrowser(t)
	start := time.Now()
	const n, minutes = 1000, 30
	files := map[string]string{"slogate.yaml": "listen: 127.0.0.1:0\nstorage: data/slogate.db\nspecs: [specs]\nevaluationInterval: 1s\n"}
	for i := range n {
		files[fmt.Sprintf("specs/svc-%04d.yaml", i)] = fmt.Sprintf(
			"name: svc-%04d\nowner: {team: team-%02d}\nrunbook: https://runbooks.example.com/svc-%04d\n"+
				"slos:\n  - {name: availability, objective: 99.9, window: 7d, sli: {push: {}}}\n", i, i%20, i)
	}
	config := filepath.Join(writeFiles(t, files), "slogate.yaml")
	_, base := startBinary(t, buildBinary(t), config)
	t.Logf("slogate with %d services up after %s", n, time.Since(start).Round(time.Millisecond))

	now := time.Now().UTC().Truncate(time.Minute)
	var evs []string
	for m := minutes; m >= 0; m-- {
		ts := now.Add(-time.Duration(m) * time.Minute).Format(time.RFC3339)
		for i := range n {
			bad := 0
			if (i*7+m)%13 == 0 {
				bad = i % 5 // some services spend more than others
			}
			evs = append(evs, fmt.Sprintf(`{"service":"svc-%04d","slo":"availability","good":%d,"total":100,"timestamp":%q}`, i, 100-bad, ts))
		}
		if len(evs) >= 10000 || m == 0 {
			if code, body := postJSON(t, base+"/api/v1/events", "["+strings.Join(evs, ",")+"]"); code != http.StatusOK {
				t.Fatalf("push: got %d %v", code, body)
			}
			evs = evs[:0]
		}
	}
	waitFor(t, 60*time.Second, "every service's budget", func() bool {
		var list struct {
			Services []struct {
				SLOs []struct {
					Budget struct{ Total float64 } `json:"budget"`
				} `json:"slos"`
			} `json:"services"`
		}
		getJSON(t, base+"/api/v1/services", &list)
		if len(list.Services) != n {
			return false
		}
		for _, s := range list.Services {
			if len(s.SLOs) != 1 || s.SLOs[0].Budget.Total < float64(minutes)*100 {
				return false
			}
		}
		return true
	})
	t.Logf("seeded %d services with %d minutes each after %s", n, minutes, time.Since(start).Round(time.Millisecond))

	b := newBrowser(t)
	var loads []float64
	for i := range 3 {
		b.open(base+"/", "overview")
		var timing struct {
			BarsDrawn *float64 `json:"barsDrawn"`
			API       float64  `json:"api"`
			DOM       float64  `json:"dom"`
		}
		b.waitUntil("window.slogateTimings.barsDrawn", actionTimeout, func() (bool, string) {
			b.eval(`({barsDrawn: (window.slogateTimings || {}).barsDrawn ?? null,
				api: Math.max(0, ...performance.getEntriesByType("resource").filter(e => e.name.includes("/api/v1/")).map(e => e.responseEnd)),
				dom: (performance.getEntriesByType("navigation")[0] || {}).domContentLoadedEventEnd || 0})`, &timing)
			return timing.BarsDrawn != nil && *timing.BarsDrawn > 0, jsonString(timing)
		})
		loads = append(loads, *timing.BarsDrawn)
		if *timing.BarsDrawn > 1000 {
			// Say where a slow load spent its time.
			var res []string
			b.eval(`performance.getEntriesByType("resource").map(e => e.name.replace(location.origin, "") + " " +
				Math.round(e.startTime) + "-" + Math.round(e.responseEnd) + " ms")`, &res)
			t.Logf("load %d resources: %s", i+1, strings.Join(res, ", "))
		}
		t.Logf("load %d: bars drawn %.0f ms after navigation start (DOM content loaded %.0f ms, last API response %.0f ms)",
			i+1, *timing.BarsDrawn, timing.DOM, timing.API)
		if i == 0 {
			if got := b.count("#services [data-service]"); got != n {
				t.Errorf("the overview lists %d services, want %d", got, n)
			}
			if got := b.count("#services .budget-bar[data-slo]"); got != n {
				t.Errorf("the overview has %d budget bars, want %d", got, n)
			}
			if s := b.text("#service-count"); !strings.Contains(s, strconv.Itoa(n)) {
				t.Errorf("#service-count says %q, want %d", s, n)
			}
			b.screenshotViewport("1000-services")
		}
	}
	best := slices.Min(loads)
	t.Logf("overview with %d services: best of 3 loads %.0f ms to bars drawn (all: %.0f ms); whole test %s",
		n, best, loads, time.Since(start).Round(time.Millisecond))
	// The target is 1 s; speed is reported here, not asserted: a timed
	// assertion on a shared 2-core machine fails for reasons that are not
	// the UI's. Read the figure in the test log (go test -v -run
	// Overview1000).
	if best > 1000 {
		t.Logf("NOTE: above the 1000 ms target")
	}
}

// jsonString renders v as JSON for messages.
func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
