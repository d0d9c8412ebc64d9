package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/notify/notifytest"
	"github.com/slogate/slogate/internal/realtest"
)

var now = notifytest.Start.Add(5 * time.Minute)

func TestNotifyPostsAlerts(t *testing.T) {
	tests := []struct {
		name       string
		msg        *notify.Message
		wantEnds   time.Time
		wantLabels map[string]string
		wantAnn    map[string]string
		wantNone   bool
	}{
		{
			name:     "a firing alert lasts four resends so that it must be re-sent while firing",
			msg:      notifytest.Message(),
			wantEnds: now.Add(4 * time.Minute),
			wantLabels: map[string]string{"alertname": "SLOErrorBudgetBurn", "service": "checkout", "slo": "availability",
				"severity": "page", "team": "payments", "owner": "alice"},
			wantAnn: map[string]string{"summary": "error budget burning 14.4x too fast", "runbook_url": "https://runbooks.example.com/checkout",
				"dashboard": "https://slogate.example.com/slo/checkout/availability", "on_call": "bob", "budget_remaining": "0.4200",
				"burn_rate": "15.20x over 1h0m0s, 20.50x over 5m0s", "exhausts_at": "2026-11-25T12:30:00Z",
				"suspect_deploy": "v1.42.0, commit abc1234, by carol, at 2026-11-25T09:20:00Z, impact regression"},
		},
		{
			name:     "a resolve ends the alert when it ended",
			msg:      notifytest.Resolve(),
			wantEnds: notifytest.Start.Add(47 * time.Minute),
			wantAnn:  map[string]string{"lasted": "47m0s", "budget_spent": "0.0800"},
		},
		{name: "a change is not sent", msg: notifytest.Change(), wantNone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := notifytest.NewReceiver(t)
			n, err := New(Config{URL: r.URL, BearerToken: "tok-4455"})
			if err != nil {
				t.Fatal(err)
			}
			n.now = func() time.Time { return now }
			if retry, err := n.Notify(context.Background(), tt.msg); err != nil || retry {
				t.Fatalf("got retry %v, error %v; want neither", retry, err)
			}
			if tt.wantNone {
				if got := r.Requests(); len(got) != 0 {
					t.Errorf("got %d requests, want none", len(got))
				}
				return
			}
			req := r.Last(t)
			if req.Path != "/api/v2/alerts" || req.Header.Get("Authorization") != "Bearer tok-4455" {
				t.Errorf("got %s with authorization %q, want /api/v2/alerts with the bearer token", req.Path, req.Header.Get("Authorization"))
			}
			var alerts []Alert
			if err := json.Unmarshal(req.Body, &alerts); err != nil {
				t.Fatalf("decode %s: %v", req.Body, err)
			}
			if len(alerts) != 1 {
				t.Fatalf("got %d alerts, want 1: %s", len(alerts), req.Body)
			}
			a := alerts[0]
			if !a.StartsAt.Equal(notifytest.Start) || !a.EndsAt.Equal(tt.wantEnds) || a.GeneratorURL != tt.msg.UIURL {
				t.Errorf("got starts %s, ends %s, generator %s; want %s, %s, %s", a.StartsAt, a.EndsAt, a.GeneratorURL,
					notifytest.Start, tt.wantEnds, tt.msg.UIURL)
			}
			if tt.wantLabels != nil && !reflect.DeepEqual(a.Labels, tt.wantLabels) {
				t.Errorf("got labels %v, want %v", a.Labels, tt.wantLabels)
			}
			for k, want := range tt.wantAnn {
				if a.Annotations[k] != want {
					t.Errorf("got annotation %s=%q, want %q", k, a.Annotations[k], want)
				}
			}
		})
	}
}

func TestAlertsOnePerSLO(t *testing.T) {
	n, err := New(Config{URL: "http://127.0.0.1:9093"})
	if err != nil {
		t.Fatal(err)
	}
	m := notifytest.Message()
	m.SLOs = []string{"availability", "latency"}
	alerts := n.Alerts(m, now)
	if len(alerts) != 2 || alerts[0].Labels["slo"] != "availability" || alerts[1].Labels["slo"] != "latency" {
		t.Errorf("got %+v, want one alert per SLO", alerts)
	}
}

func TestNotifyKeepsTheContract(t *testing.T) {
	notifytest.CheckContract(t, func(t *testing.T, url string) notify.Notifier {
		n, err := New(Config{URL: url, BearerToken: "tok-4455"})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}, "tok-4455")
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{name: "a base URL is enough", cfg: Config{URL: "http://alertmanager:9093"}},
		{name: "a missing URL is an error", cfg: Config{}, wantErr: true},
		{name: "a negative resend is an error", cfg: Config{URL: "http://alertmanager:9093", Resend: -time.Second}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("got %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestRealAlertmanager(t *testing.T) {
	base := realtest.StartAlertmanager(t).URL
	send := func(t *testing.T, n *Notifier, m *notify.Message) {
		t.Helper()
		if retry, err := n.Notify(context.Background(), m); err != nil {
			t.Fatalf("notify: retry %v, %v", retry, err)
		}
	}
	fresh := func(service string) *notify.Message {
		m := notifytest.Message()
		m.Service, m.StartedAt = service, time.Now().Add(-time.Minute)
		return m
	}
	t.Run("a firing alert arrives with its labels and annotations", func(t *testing.T) {
		n, _ := New(Config{URL: base})
		m := fresh("arrives")
		send(t, n, m)
		got := listAlerts(t, base, m.Service)
		if len(got) != 1 || got[0].Labels["slo"] != "availability" || got[0].Labels["severity"] != "page" ||
			got[0].Annotations["runbook_url"] != m.RunbookURL {
			t.Errorf("got alerts %+v, want the availability alert", got)
		}
	})
	t.Run("a resolve ends the alert", func(t *testing.T) {
		n, _ := New(Config{URL: base})
		m := fresh("resolves")
		send(t, n, m)
		m.Kind, m.EndedAt = notify.KindResolve, time.Now()
		send(t, n, m)
		if got := listAlerts(t, base, m.Service); len(got) != 0 {
			t.Errorf("got alerts %+v after resolve, want none", got)
		}
	})
	t.Run("an alert not re-sent expires after four resend intervals", func(t *testing.T) {
		n, _ := New(Config{URL: base, Resend: 250 * time.Millisecond})
		m := fresh("expires")
		send(t, n, m)
		time.Sleep(1500 * time.Millisecond)
		if got := listAlerts(t, base, m.Service); len(got) != 0 {
			t.Errorf("got alerts %+v, want it expired", got)
		}
	})
	t.Run("an alert re-sent every resend interval keeps firing", func(t *testing.T) {
		n, _ := New(Config{URL: base, Resend: 250 * time.Millisecond})
		m := fresh("keeps-firing")
		for range 6 {
			send(t, n, m)
			time.Sleep(n.Resend())
		}
		if got := listAlerts(t, base, m.Service); len(got) != 1 {
			t.Errorf("got alerts %+v, want it still firing", got)
		}
	})
}

type listedAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func listAlerts(t *testing.T, base, service string) []listedAlert {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts?filter=" + url.QueryEscape(fmt.Sprintf("service=%q", service)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []listedAlert
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	return got
}
