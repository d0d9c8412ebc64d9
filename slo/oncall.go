package slo

import (
	"maps"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Person is one developer in the people directory. Name is how teams,
// rotations and overrides refer to them. At most one of PagerDuty,
// PagerDutyFile and PagerDutyEnv is set; the routing key is a secret and is
// never shown in problems.
type Person struct {
	// Name identifies the person, e.g. alice; no spaces.
	Name string `yaml:"name"`
	// Email is the person's address; it also matches deploy authors.
	Email string `yaml:"email"`
	// Slack is the person's Slack user id, e.g. U024BE7LH.
	Slack string `yaml:"slack"`
	// PagerDuty is the person's PagerDuty Events API v2 routing key, inline.
	PagerDuty string `yaml:"pagerduty"`
	// PagerDutyFile is a file holding the routing key, resolved against the
	// config file's directory.
	PagerDutyFile string `yaml:"pagerdutyFile"`
	// PagerDutyEnv names an environment variable holding the routing key.
	PagerDutyEnv string `yaml:"pagerdutyEnv"`
}

// HasPagerDuty reports whether the person can be paged through PagerDuty.
func (p Person) HasPagerDuty() bool {
	return p.PagerDuty != "" || p.PagerDutyFile != "" || p.PagerDutyEnv != ""
}

// Team is a group of people owning services, with an optional on-call
// rotation and temporary overrides of it.
type Team struct {
	// Name is what service specs name in owner.team.
	Name string `yaml:"name"`
	// Members name people from the people directory.
	Members []string `yaml:"members"`
	// Channel names a non-paging receiver (usually Slack) for the team.
	Channel string `yaml:"channel"`
	// Rotation is the team's on-call rotation; nil means the team has no
	// on-call.
	Rotation *Rotation `yaml:"rotation"`
	// Overrides are temporary changes to the rotation.
	Overrides []Override `yaml:"overrides"`
}

// Rotation is an on-call rotation: Members take turns, one Shift each,
// handing off at Handoff in TimeZone.
//
// Shifts that are a whole number of days (24h, 168h, 336h, ...) count local
// calendar days: a 168h shift handing off Monday 09:00 Europe/Berlin always
// ends on the next Monday at 09:00 local time, so across a DST change it
// lasts 167h or 169h of real time. Other shift lengths (8h, 12h) count real
// time from the first handoff, so their local handoff times move by an hour
// when the clocks change.
type Rotation struct {
	// Members is the order people take shifts in; default the team's
	// members.
	Members []string `yaml:"members"`
	// Shift is the length of one person's turn; default 7d.
	Shift model.Duration `yaml:"shift"`
	// Handoff is when shifts change; default Monday 09:00.
	Handoff Handoff `yaml:"handoff"`
	// TimeZone is the IANA zone of the handoff time; default UTC.
	TimeZone string `yaml:"timeZone"`
	// Start is the local date (YYYY-MM-DD) on which Members[0]'s first shift
	// began, at the handoff time; it fixes the rotation's phase and must fall
	// on the handoff weekday when one is given. Default: the first handoff
	// weekday of 1970.
	Start string `yaml:"start"`

	// Location is the parsed TimeZone, set by validation.
	Location *time.Location `yaml:"-"`
	// Epoch is the instant Members[0]'s first shift began, set by
	// validation.
	Epoch time.Time `yaml:"-"`
}

// Handoff is the local weekday and time shifts change at.
type Handoff struct {
	// Weekday is mon ... sun (or the full name); default mon, or Start's
	// weekday when Start is set.
	Weekday string `yaml:"weekday"`
	// Time is HH:MM local time; default 09:00.
	Time string `yaml:"time"`

	// Day and Minute are the parsed Weekday and Time (minutes after
	// midnight), set by validation.
	Day    time.Weekday `yaml:"-"`
	Minute int          `yaml:"-"`
}

// Override puts Person on call instead of Covers during [Start, End). With
// Covers empty, Person covers whoever the rotation has on call.
type Override struct {
	// Person names who is on call instead.
	Person string `yaml:"person"`
	// Covers names whose shift Person takes; empty means anyone's.
	Covers string `yaml:"covers"`
	// Start is the first instant of the override.
	Start time.Time `yaml:"start"`
	// End is the first instant after the override; it must be after Start.
	End time.Time `yaml:"end"`
}

// Receiver types.
const (
	// ReceiverPagerDuty sends to the PagerDuty Events API v2; it pages.
	ReceiverPagerDuty = "pagerduty"
	// ReceiverSlack posts to a Slack incoming webhook.
	ReceiverSlack = "slack"
	// ReceiverWebhook posts slogate's JSON, signed with HMAC-SHA256.
	ReceiverWebhook = "webhook"
	// ReceiverAlertmanager posts to Alertmanager's /api/v2/alerts.
	ReceiverAlertmanager = "alertmanager"
	// ReceiverEmail sends mail over SMTP.
	ReceiverEmail = "email"
)

// Receiver is a named destination for notifications. Which of its optional
// fields apply depends on Type:
//
//   - pagerduty: routingKey, routingKeyFile or routingKeyEnv (one
//     required); url optionally replaces the Events API endpoint.
//   - slack: url, urlFile or urlEnv (one required), the incoming webhook.
//   - webhook: url, urlFile or urlEnv (one required); secretFile or
//     secretEnv holds the HMAC-SHA256 key.
//   - alertmanager: url, urlFile or urlEnv (one required), the
//     Alertmanager base URL.
//   - email: to (required).
//
// Secrets (routing keys, Slack and webhook URLs) are never shown in
// problems.
type Receiver struct {
	// Name is what teams and services refer to.
	Name string `yaml:"name"`
	// Type is pagerduty, slack, webhook, alertmanager or email.
	Type string `yaml:"type"`
	// URL is the endpoint, inline.
	URL string `yaml:"url"`
	// URLFile is a file holding URL.
	URLFile string `yaml:"urlFile"`
	// RoutingKey is a PagerDuty routing key, inline.
	RoutingKey string `yaml:"routingKey"`
	// RoutingKeyFile is a file holding RoutingKey.
	RoutingKeyFile string `yaml:"routingKeyFile"`
	// To is an email address.
	To string `yaml:"to"`
	// SecretFile is a file holding a webhook's HMAC key.
	SecretFile string `yaml:"secretFile"`
	// URLEnv, RoutingKeyEnv and SecretEnv name environment variables
	// holding URL, RoutingKey and the webhook's HMAC key, for secrets
	// injected by the environment (Kubernetes secrets, systemd
	// credentials).
	URLEnv        string `yaml:"urlEnv"`
	RoutingKeyEnv string `yaml:"routingKeyEnv"`
	SecretEnv     string `yaml:"secretEnv"`
}

// Paging reports whether the receiver wakes people up: only PagerDuty
// receivers page; the rest are read when people look.
func (r Receiver) Paging() bool { return r.Type == ReceiverPagerDuty }

// ServiceAlerting overrides where a service's alerts go. A list that is set
// replaces the team's default receivers for that severity.
type ServiceAlerting struct {
	// Page names receivers for page-severity alerts.
	Page []string `yaml:"page"`
	// Ticket names non-paging receivers for ticket-severity alerts.
	Ticket []string `yaml:"ticket"`
}

var (
	slackUserRE = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	envNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// receiverFields lists, per type, the optional fields that apply; any other
// field set is a mistake worth reporting.
var receiverFields = map[string][]string{
	ReceiverPagerDuty:    {"url", "routingKey", "routingKeyFile", "routingKeyEnv"},
	ReceiverSlack:        {"url", "urlFile", "urlEnv"},
	ReceiverWebhook:      {"url", "urlFile", "urlEnv", "secretFile", "secretEnv"},
	ReceiverAlertmanager: {"url", "urlFile", "urlEnv"},
	ReceiverEmail:        {"to"},
}

// Rotation defaults.
const (
	// DefaultShift is a week.
	DefaultShift = model.Duration(7 * 24 * time.Hour)
	// DefaultHandoffTime is the local time shifts change at by default, on
	// Monday unless the rotation says otherwise.
	DefaultHandoffTime = "09:00"
)

// ValidateOnCall checks the people, teams and receivers of a config built in
// code (or re-checks a loaded one) and fills their parsed fields
// (Rotation.Location, Rotation.Epoch, Handoff.Day and Minute, default
// rotation members). Its error is Problems without file or line.
func ValidateOnCall(c *Config) error {
	r := &reporter{file: c.File}
	validateOnCall(c, r)
	return r.problems.err()
}

// validateOnCall checks the people directory, teams with their rotations and
// overrides, and receivers, and how they refer to each other.
func validateOnCall(c *Config, r *reporter) {
	people := map[string]int{}
	for i := range c.People {
		p := &c.People[i]
		pp := index("people", i)
		uniqueName(p.Name, people, "people", i, r, false)
		if p.Email != "" {
			if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email {
				r.add(field(pp, "email"), "must be an email address such as alice@example.com, got %q", p.Email)
			}
		}
		if p.Slack != "" && !slackUserRE.MatchString(p.Slack) {
			r.add(field(pp, "slack"), "must be a Slack user id such as U024BE7LH, got %q", p.Slack)
		}
		var set []string
		for _, f := range []struct{ name, v string }{{"pagerduty", p.PagerDuty}, {"pagerdutyFile", p.PagerDutyFile}, {"pagerdutyEnv", p.PagerDutyEnv}} {
			if f.v != "" {
				set = append(set, f.name)
			}
		}
		if len(set) > 1 {
			r.add(field(pp, set[1]), "set only one of pagerduty, pagerdutyFile and pagerdutyEnv, got %s", strings.Join(set, " and "))
		}
		if p.PagerDuty != "" && strings.TrimSpace(p.PagerDuty) != p.PagerDuty {
			r.add(field(pp, "pagerduty"), "must be a routing key without surrounding spaces")
		}
		if p.PagerDutyEnv != "" && !envNameRE.MatchString(p.PagerDutyEnv) {
			r.add(field(pp, "pagerdutyEnv"), "must be an environment variable name such as PD_ROUTING_KEY_ALICE, got %q", p.PagerDutyEnv)
		}
	}
	knownPeople := known("people", slices.Sorted(maps.Keys(people)))

	receivers := map[string]*Receiver{}
	recvIdx := map[string]int{}
	for i := range c.Receivers {
		rc := &c.Receivers[i]
		uniqueName(rc.Name, recvIdx, "receivers", i, r, true)
		if _, ok := receivers[rc.Name]; !ok && rc.Name != "" {
			receivers[rc.Name] = rc
		}
		validateReceiver(rc, r, index("receivers", i))
	}
	knownReceivers := known("receivers", slices.Sorted(maps.Keys(receivers)))

	teams := map[string]int{}
	for i := range c.Teams {
		t := &c.Teams[i]
		tp := index("teams", i)
		uniqueName(t.Name, teams, "teams", i, r, true)
		if len(t.Members) == 0 {
			r.add(field(tp, "members"), "at least one member is required: names from people")
		}
		checkPeopleList(t.Members, people, knownPeople, r, field(tp, "members"))
		if t.Channel != "" {
			switch rc, ok := receivers[t.Channel]; {
			case !ok:
				r.add(field(tp, "channel"), "unknown receiver %q; %s", t.Channel, knownReceivers)
			case rc.Paging():
				r.add(field(tp, "channel"), "must name a non-paging receiver such as a slack one; %q is a %s receiver", t.Channel, rc.Type)
			}
		}
		if t.Rotation != nil {
			validateRotation(t.Rotation, t.Members, people, knownPeople, r, field(tp, "rotation"))
		}
		for j, o := range t.Overrides {
			op := index(field(tp, "overrides"), j)
			switch {
			case o.Person == "":
				r.add(field(op, "person"), "required: who is on call instead")
			case !hasName(people, o.Person):
				r.add(field(op, "person"), "unknown person %q; %s", o.Person, knownPeople)
			}
			switch {
			case o.Covers == "":
			case !hasName(people, o.Covers):
				r.add(field(op, "covers"), "unknown person %q; %s", o.Covers, knownPeople)
			case o.Covers == o.Person:
				r.add(field(op, "covers"), "must be someone other than person %q", o.Person)
			case t.Rotation != nil && !slices.Contains(t.Rotation.Members, o.Covers):
				r.add(field(op, "covers"), "%q is not in the rotation (%s), so has no shift to cover", o.Covers, strings.Join(t.Rotation.Members, ", "))
			}
			switch {
			case o.Start.IsZero():
				r.add(field(op, "start"), "required: a timestamp such as 2026-06-01T09:00:00+02:00")
			case o.End.IsZero():
				r.add(field(op, "end"), "required: a timestamp such as 2026-06-08T09:00:00+02:00")
			case !o.End.After(o.Start):
				r.add(field(op, "end"), "must be after start (%s), got %s", o.Start.Format(time.RFC3339), o.End.Format(time.RFC3339))
			}
		}
		if t.Rotation == nil && len(t.Overrides) > 0 {
			r.add(field(tp, "overrides"), "only apply to a team with a rotation")
		}
	}
}

func hasName(m map[string]int, name string) bool {
	_, ok := m[name]
	return ok
}

// checkPeopleList checks that every name in list is a known person, once.
func checkPeopleList(list []string, people map[string]int, knownPeople string, r *reporter, p string) {
	seen := map[string]int{}
	for j, m := range list {
		mp := index(p, j)
		if first, dup := seen[m]; dup {
			r.add(mp, "duplicate person %q (also %s)", m, index(p, first))
			continue
		}
		seen[m] = j
		if !hasName(people, m) {
			r.add(mp, "unknown person %q; %s", m, knownPeople)
		}
	}
}

func validateRotation(ro *Rotation, teamMembers []string, people map[string]int, knownPeople string, r *reporter, p string) {
	if len(ro.Members) == 0 {
		ro.Members = slices.Clone(teamMembers)
	} else {
		checkPeopleList(ro.Members, people, knownPeople, r, field(p, "members"))
	}
	if ro.Shift == 0 && (r.root == nil || lookup(r.root, field(p, "shift")) == nil) {
		ro.Shift = DefaultShift
	}
	if d := time.Duration(ro.Shift); d <= 0 || d%time.Minute != 0 {
		r.add(field(p, "shift"), "must be a positive whole number of minutes such as 7d, 24h or 12h, got %s", ro.Shift)
	}

	ro.Location = time.UTC
	if ro.TimeZone != "" {
		switch loc, err := time.LoadLocation(ro.TimeZone); {
		case ro.TimeZone == "Local":
			r.add(field(p, "timeZone"), "must be an IANA zone such as Europe/Berlin, not the host's Local zone")
		case err != nil:
			r.add(field(p, "timeZone"), "unknown time zone %q; want an IANA zone such as Europe/Berlin or America/New_York", ro.TimeZone)
		default:
			ro.Location = loc
		}
	}

	hp := field(p, "handoff")
	ro.Handoff.Minute, _ = parseClock(DefaultHandoffTime)
	if ro.Handoff.Time != "" {
		if m, ok := parseClock(ro.Handoff.Time); ok && m < minutesPerDay {
			ro.Handoff.Minute = m
		} else {
			r.add(field(hp, "time"), "must be a local time of day HH:MM such as 09:00, got %q", ro.Handoff.Time)
		}
	}
	dayGiven := ro.Handoff.Weekday != ""
	ro.Handoff.Day = time.Monday
	if dayGiven {
		if d, ok := dayNames[strings.ToLower(strings.TrimSpace(ro.Handoff.Weekday))]; ok {
			ro.Handoff.Day = d
		} else {
			r.add(field(hp, "weekday"), "must be a weekday (mon, tue, wed, thu, fri, sat, sun), got %q", ro.Handoff.Weekday)
			dayGiven = false
		}
	}

	// The rotation's phase: Members[0]'s first shift starts on this date.
	y, m, d := 1970, time.January, 1
	if ro.Start != "" {
		sd, err := time.Parse(time.DateOnly, ro.Start)
		switch {
		case err != nil:
			r.add(field(p, "start"), "must be a date YYYY-MM-DD such as 2026-01-05, got %q", ro.Start)
		case dayGiven && sd.Weekday() != ro.Handoff.Day:
			r.add(field(p, "start"), "must fall on the handoff weekday (%s), but %s is a %s", ro.Handoff.Day, ro.Start, sd.Weekday())
		default:
			y, m, d = sd.Date()
			ro.Handoff.Day = sd.Weekday()
		}
	}
	if ro.Start == "" {
		// The first handoff weekday of 1970.
		d += (int(ro.Handoff.Day) - int(time.Thursday) + 7) % 7
	}
	ro.Epoch = time.Date(y, m, d, ro.Handoff.Minute/60, ro.Handoff.Minute%60, 0, 0, ro.Location)
}

func validateReceiver(rc *Receiver, r *reporter, p string) {
	set := map[string]bool{
		"url": rc.URL != "", "urlFile": rc.URLFile != "", "routingKey": rc.RoutingKey != "",
		"routingKeyFile": rc.RoutingKeyFile != "", "to": rc.To != "", "secretFile": rc.SecretFile != "",
		"urlEnv": rc.URLEnv != "", "routingKeyEnv": rc.RoutingKeyEnv != "", "secretEnv": rc.SecretEnv != "",
	}
	allowed, ok := receiverFields[rc.Type]
	switch {
	case rc.Type == "":
		r.add(field(p, "type"), "required: one of %s", strings.Join(slices.Sorted(maps.Keys(receiverFields)), ", "))
		return
	case !ok:
		r.add(field(p, "type"), "must be one of %s, got %q", strings.Join(slices.Sorted(maps.Keys(receiverFields)), ", "), rc.Type)
		return
	}
	for _, f := range slices.Sorted(maps.Keys(set)) {
		if set[f] && !slices.Contains(allowed, f) {
			r.add(field(p, f), "does not apply to type %s, which takes %s", rc.Type, strings.Join(allowed, ", "))
		}
	}
	// Slack and webhook URLs carry their credentials, and any URL may
	// carry a user:password, so a URL is never repeated in a problem.
	checkURL := func() {
		if rc.URL != "" && checkHTTPURL(rc.URL) != "" {
			r.add(field(p, "url"), "must be an absolute http or https URL (not shown: it may hold a secret)")
		}
	}
	// oneOf reports a secret given in none or several of its ways.
	oneOf := func(what string, required bool, ways ...[2]string) {
		var given, names []string
		for _, w := range ways {
			names = append(names, w[0])
			if w[1] != "" {
				given = append(given, w[0])
			}
		}
		switch {
		case len(given) > 1:
			r.add(field(p, given[1]), "set only one of %s", strings.Join(names, ", "))
		case len(given) == 0 && required:
			r.add(field(p, names[0]), "required: %s, or %s naming a file or %s an environment variable that holds it", what, names[1], names[2])
		}
		if env := ways[2]; env[1] != "" && !envNameRE.MatchString(env[1]) {
			r.add(field(p, env[0]), "must be an environment variable name such as SLACK_WEBHOOK_URL, got %q", env[1])
		}
	}
	switch rc.Type {
	case ReceiverPagerDuty:
		oneOf("the Events API v2 routing key", true,
			[2]string{"routingKey", rc.RoutingKey}, [2]string{"routingKeyFile", rc.RoutingKeyFile}, [2]string{"routingKeyEnv", rc.RoutingKeyEnv})
		checkURL()
	case ReceiverSlack, ReceiverWebhook, ReceiverAlertmanager:
		oneOf("the "+rc.Type+" URL", true, [2]string{"url", rc.URL}, [2]string{"urlFile", rc.URLFile}, [2]string{"urlEnv", rc.URLEnv})
		if rc.Type == ReceiverWebhook {
			oneOf("the HMAC key", false, [2]string{"secret", ""}, [2]string{"secretFile", rc.SecretFile}, [2]string{"secretEnv", rc.SecretEnv})
		}
		checkURL()
	case ReceiverEmail:
		if rc.To == "" {
			r.add(field(p, "to"), "required: the address to send to, e.g. team@example.com")
		} else if _, err := mail.ParseAddressList(rc.To); err != nil {
			r.add(field(p, "to"), "must be email addresses such as team@example.com, got %q", rc.To)
		}
	}
}

// validateServiceAlerting checks what a service file can get wrong in its
// alerting section on its own; receiver names are checked by Load.
func validateServiceAlerting(a *ServiceAlerting, r *reporter, p string) {
	for _, list := range []struct {
		name  string
		names []string
	}{{"page", a.Page}, {"ticket", a.Ticket}} {
		lp := field(p, list.name)
		seen := map[string]int{}
		for j, n := range list.names {
			if !nameRE.MatchString(n) {
				r.add(index(lp, j), "must name a receiver from the server config, got %q", n)
				continue
			}
			if first, dup := seen[n]; dup {
				r.add(index(lp, j), "duplicate receiver %q (also %s)", n, index(lp, first))
				continue
			}
			seen[n] = j
		}
	}
}

// checkServiceOnCall checks a service's references into the server config:
// its owner team (when the config has teams) and its alerting receivers.
func checkServiceOnCall(s *Service, c *Config, r *reporter) {
	if len(c.Teams) > 0 && strings.TrimSpace(s.Owner.Team) != "" {
		var names []string
		found := false
		for _, t := range c.Teams {
			names = append(names, t.Name)
			found = found || t.Name == s.Owner.Team
		}
		if !found {
			slices.Sort(names)
			names = slices.Compact(names)
			r.add("owner.team", "unknown team %q; %s", s.Owner.Team, known("teams", names))
		}
	}
	if s.Alerting == nil {
		return
	}
	receivers := map[string]Receiver{}
	for _, rc := range c.Receivers {
		if _, ok := receivers[rc.Name]; !ok {
			receivers[rc.Name] = rc
		}
	}
	names := slices.Sorted(maps.Keys(receivers))
	for _, list := range []struct {
		name  string
		names []string
	}{{"page", s.Alerting.Page}, {"ticket", s.Alerting.Ticket}} {
		for j, n := range list.names {
			if !nameRE.MatchString(n) {
				continue // reported by validateServiceAlerting
			}
			lp := index(field("alerting", list.name), j)
			switch rc, ok := receivers[n]; {
			case !ok:
				r.add(lp, "unknown receiver %q; %s", n, known("receivers", names))
			case list.name == "ticket" && rc.Paging():
				r.add(lp, "tickets must not page, but %q is a %s receiver", n, rc.Type)
			}
		}
	}
}

// resolveOnCallPaths resolves the secret files of people and receivers
// against the config file's directory.
func resolveOnCallPaths(c *Config, dir string) {
	for i := range c.People {
		c.People[i].PagerDutyFile = joinDir(dir, c.People[i].PagerDutyFile)
	}
	for i := range c.Receivers {
		rc := &c.Receivers[i]
		rc.URLFile = joinDir(dir, rc.URLFile)
		rc.RoutingKeyFile = joinDir(dir, rc.RoutingKeyFile)
		rc.SecretFile = joinDir(dir, rc.SecretFile)
	}
}
