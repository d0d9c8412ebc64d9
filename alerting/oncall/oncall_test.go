package oncall

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slogate/slogate/slo"
)

// testConfig has a weekly Europe/Berlin rotation that crosses both 2026 DST
// changes, overrides, a 12h rotation and a team without a rotation.
//
// payments, from Mon 2 Mar 2026 09:00: Alice, Bob, Carol, Alice (23 Mar,
// over the 29 Mar change), Bob (30 Mar), Carol (6 Apr), ... Alice (19 Oct,
// over the 25 Oct change), Bob (26 Oct).
const testConfig = `specs: [specs]
smtp: {addr: "smtp.example.com:587", from: slogate@example.com}
alerting:
  receivers: [ops-pd, ops-mail]
people:
  - {name: Alice, email: alice@example.com, slack: U0ALICE, pagerduty: alice-routing-key}
  - {name: Bob, email: bob@example.com, slack: U0BOB, pagerdutyFile: secrets/bob}
  - {name: Carol, email: carol@example.com, pagerdutyEnv: PD_CAROL}
  - {name: Dave}
receivers:
  - {name: payments-slack, type: slack, urlFile: secrets/payments-slack}
  - {name: ops-pd, type: pagerduty, routingKeyFile: secrets/ops-pd}
  - {name: search-mail, type: email, to: search@example.com}
  - {name: ops-mail, type: email, to: ops@example.com}
teams:
  - name: payments
    members: [Alice, Bob, Carol]
    channel: payments-slack
    rotation:
      shift: 7d
      handoff: {weekday: mon, time: "09:00"}
      timeZone: Europe/Berlin
      start: 2026-03-02
    overrides:
      - person: Carol
        covers: Alice
        start: 2026-03-25T09:00:00+01:00
        end: 2026-03-26T09:00:00+01:00
      - person: Dave
        start: 2026-04-05T20:00:00+02:00
        end: 2026-04-06T12:00:00+02:00
  - name: sre
    members: [Bob, Dave]
    rotation:
      shift: 12h
      handoff: {time: "08:00"}
      timeZone: Europe/Berlin
      start: 2026-03-28
  - name: search
    members: [Dave]
    channel: search-mail
`

func newDirectory(t *testing.T) *Directory {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "slogate.yaml")
	if err := os.WriteFile(path, []byte(testConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := slo.LoadConfig(path)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestOnCall(t *testing.T) {
	d := newDirectory(t)
	tests := []struct {
		name                 string
		team                 string
		now                  string
		current, next        string // person
		since, until         string // current's bounds, RFC 3339 UTC
		why, nextWhy         string
		nextSince, nextUntil string // optional
	}{
		{
			name: "the first member's first shift starts on the start date",
			team: "payments", now: "2026-03-02T08:00:00Z",
			current: "Alice", since: "2026-03-02T08:00:00Z", until: "2026-03-09T08:00:00Z",
			why:  "Alice's weekly shift since Mon 2 Mar 09:00 Europe/Berlin",
			next: "Bob", nextWhy: "Bob's weekly shift from Mon 9 Mar 09:00 Europe/Berlin",
		},
		{
			name: "a minute before the first handoff the rotation's last member is on call",
			team: "payments", now: "2026-03-02T07:59:00Z",
			current: "Carol", since: "2026-02-23T08:00:00Z", until: "2026-03-02T08:00:00Z",
			why:  "Carol's weekly shift since Mon 23 Feb 09:00 Europe/Berlin",
			next: "Alice",
		},
		{
			name: "a weekly shift over the March DST change ends at 09:00 local, after 167 hours",
			team: "payments", now: "2026-03-30T06:59:00Z",
			current: "Alice", since: "2026-03-26T08:00:00Z", until: "2026-03-30T07:00:00Z",
			why:  "Alice's weekly shift since Mon 23 Mar 09:00 Europe/Berlin",
			next: "Bob", nextWhy: "Bob's weekly shift from Mon 30 Mar 09:00 Europe/Berlin",
			nextSince: "2026-03-30T07:00:00Z",
		},
		{
			name: "after the March DST change the handoff is at 07:00 UTC",
			team: "payments", now: "2026-03-30T07:30:00Z",
			current: "Bob", since: "2026-03-30T07:00:00Z", until: "2026-04-05T18:00:00Z",
			why:  "Bob's weekly shift since Mon 30 Mar 09:00 Europe/Berlin",
			next: "Dave", nextWhy: "Dave covers Bob from Sun 5 Apr 20:00 Europe/Berlin until Mon 6 Apr 12:00 Europe/Berlin",
		},
		{
			name: "a weekly shift over the October DST change lasts 169 hours",
			team: "payments", now: "2026-10-26T07:30:00Z",
			current: "Alice", since: "2026-10-19T07:00:00Z", until: "2026-10-26T08:00:00Z",
			why:  "Alice's weekly shift since Mon 19 Oct 09:00 Europe/Berlin",
			next: "Bob", nextWhy: "Bob's weekly shift from Mon 26 Oct 09:00 Europe/Berlin",
			nextSince: "2026-10-26T08:00:00Z", nextUntil: "2026-11-02T08:00:00Z",
		},
		{
			name: "an override puts the covering person on call until it ends",
			team: "payments", now: "2026-03-25T11:00:00Z",
			current: "Carol", since: "2026-03-25T08:00:00Z", until: "2026-03-26T08:00:00Z",
			why:  "Carol covers Alice until Thu 26 Mar 09:00 Europe/Berlin",
			next: "Alice", nextSince: "2026-03-26T08:00:00Z", nextUntil: "2026-03-30T07:00:00Z",
		},
		{
			name: "before an override the covered person is on call until it starts",
			team: "payments", now: "2026-03-24T11:00:00Z",
			current: "Alice", since: "2026-03-23T08:00:00Z", until: "2026-03-25T08:00:00Z",
			why:  "Alice's weekly shift since Mon 23 Mar 09:00 Europe/Berlin",
			next: "Carol", nextWhy: "Carol covers Alice from Wed 25 Mar 09:00 Europe/Berlin until Thu 26 Mar 09:00 Europe/Berlin",
		},
		{
			name: "an override for anyone covers across a handoff as one stretch",
			team: "payments", now: "2026-04-05T20:00:00Z",
			current: "Dave", since: "2026-04-05T18:00:00Z", until: "2026-04-06T10:00:00Z",
			why:  "Dave covers Bob until Mon 6 Apr 12:00 Europe/Berlin",
			next: "Carol", nextWhy: "Carol's weekly shift from Mon 6 Apr 09:00 Europe/Berlin",
			nextSince: "2026-04-06T10:00:00Z", nextUntil: "2026-04-13T07:00:00Z",
		},
		{
			name: "a 12h shift counts real time, so its local handoff moves with DST",
			team: "sre", now: "2026-03-29T08:00:00Z",
			current: "Bob", since: "2026-03-29T07:00:00Z", until: "2026-03-29T19:00:00Z",
			why:  "Bob's 12h shift since Sun 29 Mar 09:00 Europe/Berlin",
			next: "Dave", nextWhy: "Dave's 12h shift from Sun 29 Mar 21:00 Europe/Berlin",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.OnCall(tt.team, at(tt.now))
			if err != nil {
				t.Fatal(err)
			}
			c, n := got.Current, got.Next
			check := func(what, got, want string) {
				t.Helper()
				if want != "" && got != want {
					t.Errorf("%s = %q, want %q", what, got, want)
				}
			}
			utc := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
			check("current person", c.Person, tt.current)
			check("current since", utc(c.Since), tt.since)
			check("current until", utc(c.Until), tt.until)
			check("current why", c.Why, tt.why)
			check("next person", n.Person, tt.next)
			check("next why", n.Why, tt.nextWhy)
			check("next since", utc(n.Since), tt.nextSince)
			check("next until", utc(n.Until), tt.nextUntil)
			if !n.Since.Equal(c.Until) {
				t.Errorf("next since %s != current until %s", n.Since, c.Until)
			}
		})
	}
}

func TestOnCallErrors(t *testing.T) {
	d := newDirectory(t)
	tests := []struct {
		name string
		team string
		want error
	}{
		{"a team that is not configured is unknown", "nope", ErrUnknownTeam},
		{"a team without a rotation has nobody on call", "search", ErrNoRotation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.OnCall(tt.team, at("2026-03-24T10:00:00Z"))
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTeams(t *testing.T) {
	d := newDirectory(t)
	got := d.Teams()
	want := []Team{
		{Name: "payments", Members: []string{"Alice", "Bob", "Carol"}, Channel: "payments-slack", HasRotation: true},
		{Name: "search", Members: []string{"Dave"}, Channel: "search-mail"},
		{Name: "sre", Members: []string{"Bob", "Dave"}, HasRotation: true},
	}
	t.Run("every team is listed by name with its members, channel and whether it has a rotation", func(t *testing.T) {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	})
	t.Run("changing the list changes nothing in the directory", func(t *testing.T) {
		got[0].Members[0] = "Mallory"
		if again := d.Teams(); !reflect.DeepEqual(again, want) {
			t.Errorf("after a change got %+v, want %+v", again, want)
		}
	})
}

// TestShiftsTileTime walks a year hour by hour in both time zones' DST
// changes and checks shifts never overlap or leave gaps, and whole-day
// shifts always hand off at 09:00 local time.
func TestShiftsTileTime(t *testing.T) {
	d := newDirectory(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, team := range []string{"payments", "sre"} {
		t.Run(team+" shifts tile 2026 without gaps", func(t *testing.T) {
			now := at("2026-01-01T00:00:00Z")
			oc, err := d.OnCall(team, now)
			if err != nil {
				t.Fatal(err)
			}
			for now.Year() == 2026 {
				got, _ := d.OnCall(team, now)
				if now.Before(got.Current.Since) || !now.Before(got.Current.Until) {
					t.Fatalf("at %s: current [%s, %s) does not contain now", now, got.Current.Since, got.Current.Until)
				}
				if !got.Current.Since.Equal(oc.Current.Since) && !got.Current.Since.Equal(oc.Current.Until) {
					t.Fatalf("at %s: since %s, previous until %s", now, got.Current.Since, oc.Current.Until)
				}
				if team == "payments" && got.Current.Covers == "" {
					if l := got.Current.Until.In(berlin); l.Hour() != 9 && got.Next.Covers == "" {
						t.Fatalf("at %s: shift ends at %s local", now, l)
					}
				}
				oc = got
				now = now.Add(time.Hour)
			}
		})
	}
}

func summary(rs []Recipient) string {
	var parts []string
	for _, r := range rs {
		s := r.Type
		if r.Receiver != "" {
			s += " " + r.Receiver
		}
		if r.Person != "" {
			s += " " + r.Person
		}
		if r.Address != "" {
			s += " <" + r.Address + ">"
		}
		if r.Paging {
			s += " (paging)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func TestRoute(t *testing.T) {
	d := newDirectory(t)
	checkout := &slo.Service{Name: "checkout", Owner: slo.Owner{Team: "payments"}}
	overridden := &slo.Service{Name: "ledger", Owner: slo.Owner{Team: "payments"},
		Alerting: &slo.ServiceAlerting{Page: []string{"ops-pd", "payments-slack"}, Ticket: []string{"ops-mail"}}}
	search := &slo.Service{Name: "search", Owner: slo.Owner{Team: "search"}}
	orphan := &slo.Service{Name: "orphan", Owner: slo.Owner{Team: "nobody"}}
	const aliceOnCall = "2026-03-24T10:00:00+01:00"
	tests := []struct {
		name     string
		service  *slo.Service
		severity string
		author   string
		now      string
		want     string // summary of the recipients
		reason   string // wanted reason of the first recipient
		note     string // a wanted substring of the notes
	}{
		{
			name: "a page goes to the on-call person's PagerDuty and the team channel", service: checkout, severity: "page", now: aliceOnCall,
			want:   "pagerduty Alice (paging), slack payments-slack",
			reason: "on call for payments: Alice's weekly shift since Mon 23 Mar 09:00 Europe/Berlin",
		},
		{
			name: "a ticket goes only to the team channel and the on-call person's email", service: checkout, severity: "ticket", now: aliceOnCall,
			want: "email Alice <alice@example.com>, slack payments-slack",
		},
		{
			name: "the suspect deploy's author is mentioned in the team channel when not on call", service: checkout, severity: "page", author: "bob@example.com", now: aliceOnCall,
			want: "pagerduty Alice (paging), slack payments-slack, slack payments-slack Bob <U0BOB>",
		},
		{
			name: "an author without Slack matched by name in Name <email> form is emailed", service: checkout, severity: "ticket", author: "carol <carol@laptop.local>", now: aliceOnCall,
			want: "email Alice <alice@example.com>, slack payments-slack, email Carol <carol@example.com>",
		},
		{
			name: "an author who is on call is not told twice", service: checkout, severity: "page", author: "Alice", now: aliceOnCall,
			want: "pagerduty Alice (paging), slack payments-slack",
			note: "suspect deploy author Alice is on call already",
		},
		{
			name: "an author not in the directory is noted", service: checkout, severity: "page", author: "mallory@example.com", now: aliceOnCall,
			want: "pagerduty Alice (paging), slack payments-slack",
			note: `suspect deploy author "mallory@example.com" is not in the people directory`,
		},
		{
			name: "an override pages the covering person instead", service: checkout, severity: "page", author: "Alice", now: "2026-03-25T12:00:00+01:00",
			want:   "pagerduty Carol (paging), slack payments-slack, slack payments-slack Alice <U0ALICE>",
			reason: "on call for payments: Carol covers Alice until Thu 26 Mar 09:00 Europe/Berlin",
		},
		{
			name: "an on-call person without PagerDuty is noted and only the channel is told", service: checkout, severity: "page", now: "2026-04-05T22:00:00+02:00",
			want: "slack payments-slack",
			note: "Dave is on call but has no PagerDuty routing key",
		},
		{
			name: "a service's page receivers replace the team's defaults", service: overridden, severity: "page", author: "bob@example.com", now: aliceOnCall,
			want:   "pagerduty ops-pd (paging), slack payments-slack, slack payments-slack Bob <U0BOB>",
			reason: "ledger's alerting.page names it",
		},
		{
			name: "a service's ticket receivers replace the team's defaults", service: overridden, severity: "ticket", now: aliceOnCall,
			want: "email ops-mail",
		},
		{
			name: "a team without a rotation gets its channel only", service: search, severity: "page", author: "Bob", now: aliceOnCall,
			want: "email search-mail, email Bob <bob@example.com>",
			note: `team "search" has no rotation`,
		},
		{
			name: "a page of a service whose team is not configured takes the default route", service: orphan, severity: "page", now: aliceOnCall,
			want:   "pagerduty ops-pd (paging), email ops-mail",
			reason: "alerting.receivers: the default route for alerts no team receives",
			note:   `team "nobody" is not configured`,
		},
		{
			name: "a ticket's default route skips paging receivers", service: orphan, severity: "ticket", now: aliceOnCall,
			want: "email ops-mail",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, err := d.Route(tt.service, tt.severity, tt.author, at(tt.now))
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(rt.Recipients); got != tt.want {
				t.Errorf("recipients\ngot  %s\nwant %s", got, tt.want)
			}
			for _, r := range rt.Recipients {
				if r.Reason == "" {
					t.Errorf("recipient %+v has no reason", r)
				}
				if r.Paging && tt.severity == SeverityTicket {
					t.Errorf("a ticket pages %+v", r)
				}
			}
			if tt.reason != "" && (len(rt.Recipients) == 0 || rt.Recipients[0].Reason != tt.reason) {
				t.Errorf("first reason: got %+v, want %q", rt.Recipients, tt.reason)
			}
			if notes := strings.Join(rt.Notes, "; "); !strings.Contains(notes, tt.note) {
				t.Errorf("notes %q do not contain %q", notes, tt.note)
			}
			if leaked := fmt.Sprintf("%+v", rt); strings.Contains(leaked, "alice-routing-key") {
				t.Errorf("route shows a routing key: %s", leaked)
			}
		})
	}
}

func TestRouteRejectsUnknownSeverity(t *testing.T) {
	d := newDirectory(t)
	_, err := d.Route(&slo.Service{Name: "checkout", Owner: slo.Owner{Team: "payments"}}, "critical", "", at("2026-03-24T10:00:00Z"))
	if !errors.Is(err, ErrUnknownSeverity) {
		t.Errorf("got %v, want ErrUnknownSeverity", err)
	}
}

func TestNew(t *testing.T) {
	t.Run("a config built in code is validated without being changed", func(t *testing.T) {
		cfg := &slo.Config{
			People: []slo.Person{{Name: "alice"}, {Name: "bob"}},
			Teams:  []slo.Team{{Name: "payments", Members: []string{"alice", "bob"}, Rotation: &slo.Rotation{}}},
		}
		d, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if r := cfg.Teams[0].Rotation; len(r.Members) != 0 || r.Location != nil || r.Shift != 0 {
			t.Errorf("New changed the config: %+v", r)
		}
		// Defaults: weekly, Monday 09:00 UTC, counted from 1970.
		oc, err := d.OnCall("payments", at("2026-03-25T12:00:00Z"))
		if err != nil {
			t.Fatal(err)
		}
		if got := oc.Current.Since.UTC().Format(time.RFC3339); got != "2026-03-23T09:00:00Z" {
			t.Errorf("since = %s, want Monday 09:00 UTC", got)
		}
	})
	t.Run("a broken config is rejected with its problems", func(t *testing.T) {
		cfg := &slo.Config{Teams: []slo.Team{{Name: "payments", Members: []string{"ghost"}}}}
		_, err := New(cfg)
		var ps slo.Problems
		if !errors.As(err, &ps) || !strings.Contains(err.Error(), `teams[0].members[0]: unknown person "ghost"`) {
			t.Errorf("got %v", err)
		}
	})
}
