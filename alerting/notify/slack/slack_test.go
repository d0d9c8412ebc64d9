package slack

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/notify/notifytest"
)

func TestNotifyPostsTextAndBlocks(t *testing.T) {
	tests := []struct {
		name       string
		msg        *notify.Message
		wantText   string
		wantBlocks []string // block types in order
		wantIn     []string // strings somewhere in the body
	}{
		{
			name:       "a page shows its facts, deploy and links",
			msg:        notifytest.Message(),
			wantText:   "[PAGE] checkout availability: error budget burning 14.4x too fast",
			wantBlocks: []string{"header", "section", "context", "actions"},
			wantIn: []string{"*Budget remaining*\\n42.0%", "15.2x/1h0m0s, 20.5x/5m0s", "payments / alice", "*On call*\\nbob",
				"Suspect deploy: v1.42.0, commit abc1234, by carol", `"url":"https://runbooks.example.com/checkout"`,
				`"url":"https://slogate.example.com/slo/checkout/availability"`, "2026-11-25T12:30:00Z"},
		},
		{
			name:       "a resolve shows how long it lasted and what it spent",
			msg:        notifytest.Resolve(),
			wantText:   "[RESOLVED] checkout availability: error budget burning 14.4x too fast",
			wantBlocks: []string{"header", "section", "context", "actions"},
			wantIn:     []string{"*Lasted*\\n47m0s", "*Budget spent*\\n8.0%"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := notifytest.NewReceiver(t)
			r.Answer(200, nil, "ok")
			n, err := New(Config{URL: notify.Secret(r.URL + "/services/T0/B0/XYZ")})
			if err != nil {
				t.Fatal(err)
			}
			if retry, err := n.Notify(context.Background(), tt.msg); err != nil || retry {
				t.Fatalf("got retry %v, error %v; want neither", retry, err)
			}
			req := r.Last(t)
			if req.Path != "/services/T0/B0/XYZ" {
				t.Errorf("got path %s, want the webhook's", req.Path)
			}
			var got Message
			if err := json.Unmarshal(req.Body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Text != tt.wantText {
				t.Errorf("got text %q, want %q", got.Text, tt.wantText)
			}
			var types []string
			for _, b := range got.Blocks {
				types = append(types, b.Type)
			}
			if strings.Join(types, ",") != strings.Join(tt.wantBlocks, ",") {
				t.Errorf("got blocks %v, want %v", types, tt.wantBlocks)
			}
			for _, want := range tt.wantIn {
				if !strings.Contains(string(req.Body), want) {
					t.Errorf("got body %s\nwant it to contain %s", req.Body, want)
				}
			}
		})
	}
}

func TestRenderEscapesMarkup(t *testing.T) {
	m := notifytest.Message()
	m.OnCall = "<@U123> & co"
	body, _ := json.Marshal(Render(m))
	if strings.Contains(string(body), "<@U123>") {
		t.Errorf("got %s, want < and > escaped", body)
	}
}

func TestRenderMentionsPeopleBySlackID(t *testing.T) {
	m := notifytest.Message()
	m.Mentions = []notify.Mention{
		{Person: "bob", Slack: "U0BOB", Reason: "bob authored the suspect deploy"},
		{Person: "<dan>", Reason: "no slack id"},
	}
	got := Render(m)
	if !strings.Contains(got.Text, "<@U0BOB> (bob authored the suspect deploy)") {
		t.Errorf("text %q does not @-mention bob", got.Text)
	}
	body, _ := json.Marshal(got)
	if !strings.Contains(string(body), `*Attention:* \u003c@U0BOB\u003e`) || !strings.Contains(string(body), `\u0026lt;dan\u0026gt;`) {
		t.Errorf("blocks %s: want an attention section mentioning bob and dan's name escaped", body)
	}
}

func TestNotifyKeepsTheContract(t *testing.T) {
	notifytest.CheckContract(t, func(t *testing.T, url string) notify.Notifier {
		n, err := New(Config{URL: notify.Secret(url)})
		if err != nil {
			t.Fatal(err)
		}
		return n
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{name: "a webhook URL is enough", cfg: Config{URL: "https://hooks.slack.com/services/T0/B0/XYZ"}},
		{name: "a missing URL is an error", cfg: Config{}, wantErr: true},
		{name: "a URL without scheme is an error and is not quoted", cfg: Config{URL: "hooks.slack.com/services/T0/B0/XYZ"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Errorf("got %v, want error %v", err, tt.wantErr)
			}
			notifytest.CheckNoSecrets(t, err, tt.cfg.URL)
		})
	}
}
