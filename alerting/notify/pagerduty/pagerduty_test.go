package pagerduty

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/notify/notifytest"
)

const routingKey = "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12"

func TestNotifySendsEvents(t *testing.T) {
	tests := []struct {
		name     string
		msg      *notify.Message
		wantPath string
		want     string // the JSON the receiver must get
	}{
		{
			name:     "a page triggers a critical alert with details and links",
			msg:      notifytest.Message(),
			wantPath: "/v2/enqueue",
			want: `{"routing_key":"` + routingKey + `","event_action":"trigger","dedup_key":"checkout/availability",
				"client":"slogate","client_url":"https://slogate.example.com",
				"payload":{"summary":"[PAGE] checkout availability: error budget burning 14.4x too fast","source":"checkout",
					"severity":"critical","timestamp":"2026-11-25T09:30:00Z","component":"availability","group":"payments","class":"slo-burn",
					"custom_details":{"service":"checkout","slos":"availability","severity":"page","budget_remaining":0.42,
						"team":"payments","owner":"alice","on_call":"bob",
						"runbook_url":"https://runbooks.example.com/checkout","ui_url":"https://slogate.example.com/slo/checkout/availability",
						"burn_rates":[{"long_window":"1h0m0s","short_window":"5m0s","long":15.2,"short":20.5,"threshold":14.4}],
						"exhausts_at":"2026-11-25T12:30:00Z",
						"deploy":{"version":"v1.42.0","commit":"abc1234","author":"carol","at":"2026-11-25T09:20:00Z","impact":"regression"}}},
				"links":[{"href":"https://slogate.example.com/slo/checkout/availability","text":"SLO page"},
					{"href":"https://runbooks.example.com/checkout","text":"Runbook"}]}`,
		},
		{
			name:     "a resolve carries only the dedup key",
			msg:      notifytest.Resolve(),
			wantPath: "/v2/enqueue",
			want:     `{"routing_key":"` + routingKey + `","event_action":"resolve","dedup_key":"checkout/availability"}`,
		},
		{
			name:     "a deploy record is a change event",
			msg:      notifytest.Change(),
			wantPath: "/v2/change/enqueue",
			want: `{"routing_key":"` + routingKey + `","payload":{"summary":"deployed v1.42.0","source":"checkout",
				"timestamp":"2026-11-25T09:20:00Z",
				"custom_details":{"version":"v1.42.0","commit":"abc1234","author":"carol","impact":"regression","team":"payments"}},
				"links":[{"href":"https://slogate.example.com/slo/checkout/availability","text":"SLO page"}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := notifytest.NewReceiver(t)
			r.Answer(202, nil, `{"status":"success","message":"Event processed","dedup_key":"checkout/availability"}`)
			// No ChangeURL: change events go beside URL.
			n, err := New(Config{RoutingKey: routingKey, URL: r.URL + "/v2/enqueue",
				ClientURL: "https://slogate.example.com"})
			if err != nil {
				t.Fatal(err)
			}
			if retry, err := n.Notify(context.Background(), tt.msg); err != nil || retry {
				t.Fatalf("got retry %v, error %v; want neither", retry, err)
			}
			req := r.Last(t)
			if req.Path != tt.wantPath || req.Header.Get("Content-Type") != "application/json" {
				t.Errorf("got %s to %s, want application/json to %s", req.Header.Get("Content-Type"), req.Path, tt.wantPath)
			}
			var got, want any
			if err := json.Unmarshal(req.Body, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %s\nwant %s", req.Body, strings.Join(strings.Fields(tt.want), ""))
			}
		})
	}
}

func TestTicketIsWarning(t *testing.T) {
	n, err := New(Config{RoutingKey: routingKey})
	if err != nil {
		t.Fatal(err)
	}
	m := notifytest.Message()
	m.Severity = notify.SeverityTicket
	if got := n.Event(m).Payload.Severity; got != "warning" {
		t.Errorf("got severity %q, want warning", got)
	}
}

func TestDedupKeyStaysWithinLimit(t *testing.T) {
	tests := []struct {
		name, key string
	}{
		{name: "a short key is kept", key: "a/b"},
		{name: "a key over 255 bytes is hashed", key: strings.Repeat("x", 300)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DedupKey(tt.key)
			if len(got) > maxDedupKey || (len(tt.key) <= maxDedupKey && got != tt.key) || got != DedupKey(tt.key) {
				t.Errorf("got %q for %d-byte key, want a stable key of at most %d bytes", got, len(tt.key), maxDedupKey)
			}
		})
	}
}

func TestNotifyKeepsTheContract(t *testing.T) {
	notifytest.CheckContract(t, func(t *testing.T, url string) notify.Notifier {
		n, err := New(Config{RoutingKey: routingKey, URL: url})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}, routingKey)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{name: "a routing key is enough", cfg: Config{RoutingKey: routingKey}},
		{name: "a missing routing key is an error", cfg: Config{}, wantErr: true},
		{name: "a relative URL is an error", cfg: Config{RoutingKey: routingKey, URL: "/v2/enqueue"}, wantErr: true},
		{name: "a negative timeout is an error", cfg: Config{RoutingKey: routingKey, Timeout: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Errorf("got %v, want error %v", err, tt.wantErr)
			}
			notifytest.CheckNoSecrets(t, err, tt.cfg.RoutingKey)
		})
	}
}
