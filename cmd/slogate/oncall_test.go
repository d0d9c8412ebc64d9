package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestServeAnswersWhoIsOnCallAndWhereAnAlertGoes(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"specs/shop.yaml": "name: shop\nowner: {team: payments}\nslos:\n  - {name: availability, objective: 99, window: 7d, sli: {push: {}}}\n",
		"slogate.yaml": `listen: 127.0.0.1:0
storage: data/slogate.db
specs: [specs]
evaluationInterval: 1s
people:
  - {name: alice, email: alice@example.com, pagerduty: alice-routing-key}
  - {name: bob, email: bob@example.com, pagerduty: bob-routing-key}
teams:
  - name: payments
    members: [alice, bob]
    channel: payments-slack
    rotation: {shift: 1d, handoff: {weekday: mon, time: "09:00"}, timeZone: Europe/Berlin}
receivers:
  - {name: payments-slack, type: slack, url: "https://hooks.slack.example.com/services/T0/B0/x"}
`,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startServe(t, ctx, filepath.Join(dir, "slogate.yaml"))

	var oc struct {
		Current, Next struct {
			Person, Why string
			Until       time.Time
		}
	}
	if code := getJSON(t, base+"/api/v1/oncall/payments", &oc); code != http.StatusOK {
		t.Fatalf("oncall: got %d", code)
	}
	people := []string{"alice", "bob"}
	if !slices.Contains(people, oc.Current.Person) || !slices.Contains(people, oc.Next.Person) ||
		oc.Current.Person == oc.Next.Person || oc.Current.Why == "" || !oc.Current.Until.After(time.Now()) {
		t.Fatalf("oncall: got %+v, want alice and bob taking daily turns, with a reason", oc)
	}

	var route struct {
		Recipients []struct {
			Receiver, Type, Person, Reason string
			Paging                         bool
		}
	}
	if code := getJSON(t, base+"/api/v1/route?service=shop&slo=availability&severity=page", &route); code != http.StatusOK {
		t.Fatalf("route: got %d", code)
	}
	var got []string
	for _, r := range route.Recipients {
		got = append(got, fmt.Sprintf("%s/%s/%s/paging=%v", r.Type, r.Receiver, r.Person, r.Paging))
		if r.Reason == "" {
			t.Errorf("recipient %+v has no reason", r)
		}
	}
	joined := strings.Join(got, " ")
	if !strings.Contains(joined, "pagerduty/") || !strings.Contains(joined, oc.Current.Person+"/paging=true") ||
		!strings.Contains(joined, "slack/payments-slack") {
		t.Fatalf("route for a page: got %v, want the on-call developer's PagerDuty and the team channel", got)
	}

	for _, u := range []string{"/api/v1/route?service=shop&severity=page", "/api/v1/oncall/payments"} {
		resp, err := http.Get(base + u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "routing-key") || strings.Contains(string(body), "hooks.slack") {
			t.Errorf("GET %s shows a secret: %s", u, body)
		}
	}

	for _, c := range []struct {
		url  string
		want int
	}{
		{"/api/v1/oncall/nope", 404},
		{"/api/v1/route?service=shop&severity=loud", 400},
		{"/api/v1/route?service=nope", 404},
		{"/api/v1/route", 400},
	} {
		var e map[string]string
		if code := getJSON(t, base+c.url, &e); code != c.want || e["error"] == "" {
			t.Errorf("GET %s: got %d %v, want %d with an error", c.url, code, e, c.want)
		}
	}
	cancel()
	<-done
}
