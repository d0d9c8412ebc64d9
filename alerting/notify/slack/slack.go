// Package slack delivers notifications to a Slack incoming webhook as
// text, which Slack shows in notifications and where blocks cannot be
// drawn, plus blocks: a header with the title, the summary, the facts as
// fields, the suspect deploy, and buttons to the SLO page and runbook.
package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/slogate/slogate/alerting/notify"
)

// Limits Slack puts on blocks.
const (
	maxHeader    = 150
	maxFields    = 10
	maxFieldText = 2000
	// maxSectionText is Slack's limit on a section block's text.
	maxSectionText = 3000
)

// Message is the incoming webhook body.
type Message struct {
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks,omitempty"`
}

// Block is one Slack layout block; only the fields of its Type are set.
type Block struct {
	Type     string    `json:"type"`
	Text     *Text     `json:"text,omitempty"`
	Fields   []Text    `json:"fields,omitempty"`
	Elements []Element `json:"elements,omitempty"`
}

// Text is a plain_text or mrkdwn text object.
type Text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Element is a context text or an actions button.
type Element struct {
	Type string `json:"type"`
	Text any    `json:"text"`
	URL  string `json:"url,omitempty"`
}

// Notifier posts to one incoming webhook. It is safe for concurrent use.
type Notifier struct {
	cfg    Config
	client *http.Client
	now    func() time.Time
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg and returns its Notifier.
func New(cfg Config) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Notifier{cfg: cfg, client: notify.Client(cfg.Timeout), now: time.Now}, nil
}

// Notify posts m.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) (bool, error) {
	body, err := json.Marshal(Render(m))
	if err != nil {
		return false, fmt.Errorf("slack: encode message: %w", err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	retry, err := notify.Post(ctx, n.client, string(n.cfg.URL), h, body, n.now, n.cfg.URL)
	if err != nil {
		return retry, fmt.Errorf("slack %s %s: %w", m.Kind, m.DedupKey, err)
	}
	return false, nil
}

// Render lays m out as a Slack message.
func Render(m *notify.Message) *Message {
	out := &Message{Text: m.Title()}
	out.Blocks = append(out.Blocks,
		Block{Type: "header", Text: &Text{Type: "plain_text", Text: cut(m.Title(), maxHeader)}},
	)
	var fields []Text
	field := func(label, value string) {
		if value != "" && len(fields) < maxFields {
			fields = append(fields, Text{Type: "mrkdwn", Text: cut("*"+label+"*\n"+escape(value), maxFieldText)})
		}
	}
	field("Service", m.Service)
	field("SLO", strings.Join(m.SLOs, ", "))
	field("Severity", string(m.Severity))
	if m.Kind != notify.KindChange {
		field("Budget remaining", fmt.Sprintf("%.1f%%", m.BudgetRemaining*100))
	}
	var burns []string
	for _, r := range m.BurnRates {
		burns = append(burns, fmt.Sprintf("%.1fx/%s, %.1fx/%s", r.Long, r.LongWindow, r.Short, r.ShortWindow))
	}
	field("Burn rate", strings.Join(burns, "\n"))
	if !m.ExhaustsAt.IsZero() {
		field("Budget exhausted", m.ExhaustsAt.UTC().Format(time.RFC3339))
	}
	field("Owner", strings.Trim(m.Team+" / "+m.Owner, " /"))
	field("On call", m.OnCall)
	if m.Lasted != 0 {
		field("Lasted", m.Lasted.String())
	}
	if m.BudgetSpent != 0 {
		field("Budget spent", fmt.Sprintf("%.1f%%", m.BudgetSpent*100))
	}
	if len(fields) > 0 {
		out.Blocks = append(out.Blocks, Block{Type: "section", Fields: fields})
	}
	if len(m.Mentions) > 0 {
		var who []string
		for _, p := range m.Mentions {
			name := escape(p.Person)
			if p.Slack != "" {
				name = "<@" + p.Slack + ">"
			}
			who = append(who, name+" ("+escape(p.Reason)+")")
		}
		out.Text += "\n" + strings.Join(who, ", ")
		out.Blocks = append(out.Blocks, Block{Type: "section", Text: &Text{Type: "mrkdwn",
			Text: cut("*Attention:* "+strings.Join(who, ", "), maxSectionText)}})
	}
	if m.Deploy != nil {
		out.Blocks = append(out.Blocks, Block{Type: "context", Elements: []Element{
			{Type: "mrkdwn", Text: "Suspect deploy: " + escape(m.Deploy.String())},
		}})
	}
	var buttons []Element
	for _, l := range []struct{ text, url string }{{"SLO page", m.UIURL}, {"Runbook", m.RunbookURL}} {
		if l.url != "" {
			buttons = append(buttons, Element{Type: "button", Text: Text{Type: "plain_text", Text: l.text}, URL: l.url})
		}
	}
	if len(buttons) > 0 {
		out.Blocks = append(out.Blocks, Block{Type: "actions", Elements: buttons})
	}
	return out
}

// escape keeps Slack from reading &, < and > in user text as markup.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
