// Package oncall owns who is on call and who an alert goes to: it reads the
// people, teams, rotations, overrides and receivers of slogate's config and
// answers, for a moment in time, who holds each team's pager and which
// receivers a service's alert reaches, each with the reason why. It is pure:
// every answer takes the time as a parameter and nothing does I/O.
package oncall

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/slo"
)

// Severities an alert can have.
const (
	// SeverityPage wakes the on-call developer.
	SeverityPage = "page"
	// SeverityTicket waits for working hours and never pages.
	SeverityTicket = "ticket"
)

// Errors the Directory returns, for the API to map to status codes; they are
// wrapped with the team or severity that caused them.
var (
	// ErrUnknownTeam means the team is not in the config.
	ErrUnknownTeam = errors.New("unknown team")
	// ErrNoRotation means the team has no on-call rotation.
	ErrNoRotation = errors.New("team has no on-call rotation")
	// ErrUnknownSeverity means the severity is neither page nor ticket.
	ErrUnknownSeverity = errors.New("unknown severity; want page or ticket")
)

// Directory answers who is on call and where alerts go. It is built once
// from a config, never changes, and is safe for concurrent use.
type Directory struct {
	people    map[string]slo.Person
	order     []string // people names in config order, for author matching
	teams     map[string]*team
	receivers map[string]slo.Receiver
	defaults  []string // alerting.receivers: the route of alerts no team receives
	mail      bool     // an SMTP relay is configured, so people can be emailed
}

type team struct {
	cfg slo.Team
	rot *rotation // nil without a rotation
}

// New builds a Directory from the config's people, teams and receivers,
// validating them first (slo.ValidateOnCall) on a copy, so cfg is not
// changed. Its error wraps slo.Problems.
func New(cfg *slo.Config) (*Directory, error) {
	if cfg == nil {
		return nil, errors.New("new on-call directory: nil config")
	}
	c := &slo.Config{File: cfg.File, People: slices.Clone(cfg.People), Receivers: slices.Clone(cfg.Receivers)}
	for _, t := range cfg.Teams {
		t.Members = slices.Clone(t.Members)
		t.Overrides = slices.Clone(t.Overrides)
		if t.Rotation != nil {
			ro := *t.Rotation
			ro.Members = slices.Clone(ro.Members)
			t.Rotation = &ro
		}
		c.Teams = append(c.Teams, t)
	}
	if err := slo.ValidateOnCall(c); err != nil {
		return nil, fmt.Errorf("new on-call directory: %w", err)
	}
	d := &Directory{people: map[string]slo.Person{}, teams: map[string]*team{}, receivers: map[string]slo.Receiver{}}
	for _, p := range c.People {
		d.people[p.Name] = p
		d.order = append(d.order, p.Name)
	}
	for _, r := range c.Receivers {
		d.receivers[r.Name] = r
	}
	d.defaults = slices.Clone(cfg.Alerting.Receivers)
	d.mail = cfg.SMTP != nil
	for _, t := range c.Teams {
		tm := &team{cfg: t}
		if t.Rotation != nil {
			tm.rot = newRotation(t.Rotation)
		}
		d.teams[t.Name] = tm
	}
	return d, nil
}

// Person returns a person from the directory by name.
func (d *Directory) Person(name string) (slo.Person, bool) {
	p, ok := d.people[name]
	return p, ok
}

// Receiver returns a configured receiver by name.
func (d *Directory) Receiver(name string) (slo.Receiver, bool) {
	r, ok := d.receivers[name]
	return r, ok
}

// Team is a team as the directory knows it.
type Team struct {
	// Name is the team's name, as service specs give it in owner.team.
	Name string
	// Members name the team's people in config order; never nil.
	Members []string
	// Channel names the team's non-paging receiver, "" when it has none.
	Channel string
	// HasRotation reports whether the team has an on-call rotation, and
	// so whether OnCall answers for it.
	HasRotation bool
}

// Teams returns every team, sorted by name. The result is the caller's
// to change.
func (d *Directory) Teams() []Team {
	out := make([]Team, 0, len(d.teams))
	for _, t := range d.teams {
		out = append(out, Team{Name: t.cfg.Name, Members: append([]string{}, t.cfg.Members...),
			Channel: t.cfg.Channel, HasRotation: t.rot != nil})
	}
	slices.SortFunc(out, func(a, b Team) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Shift is one stretch of time during which one person is on call.
type Shift struct {
	// Person names who is on call.
	Person string `json:"person"`
	// Covers names whose rotation shift Person is covering through an
	// override; empty for a regular shift.
	Covers string `json:"covers,omitempty"`
	// Since is when Person went (or goes) on call.
	Since time.Time `json:"since"`
	// Until is when the next person takes over.
	Until time.Time `json:"until"`
	// Why says why, for people: "alice's weekly shift since Mon 23 Mar
	// 09:00 Europe/Berlin" or "carol covers alice until Wed 25 Mar 18:00
	// Europe/Berlin".
	Why string `json:"why"`
}

// OnCall is who holds a team's pager at a moment, and who takes it next.
type OnCall struct {
	// Team is the team's name.
	Team string `json:"team"`
	// At is the moment asked about.
	At time.Time `json:"at"`
	// Current is on call at At.
	Current Shift `json:"current"`
	// Next takes over at Current.Until.
	Next Shift `json:"next"`
}

// OnCall returns who is on call for team at now and who is next. Overrides
// take precedence over the rotation. Its errors wrap ErrUnknownTeam and
// ErrNoRotation.
func (d *Directory) OnCall(teamName string, now time.Time) (OnCall, error) {
	t, ok := d.teams[teamName]
	if !ok {
		return OnCall{}, fmt.Errorf("on call for %q: %w", teamName, ErrUnknownTeam)
	}
	if t.rot == nil {
		return OnCall{}, fmt.Errorf("on call for %q: %w", teamName, ErrNoRotation)
	}
	cur := t.segment(now, now)
	// Adjacent stretches of the same person (a one-person rotation, an
	// override running across a handoff) read as one, with the first
	// stretch's reason; the bound keeps a one-person rotation from looping
	// for ever.
	next := t.segment(cur.Until, now)
	for range 16 {
		if next.Person != cur.Person {
			break
		}
		cur.Until = next.Until
		next = t.segment(cur.Until, now)
	}
	for range 16 {
		prev := t.segment(cur.Since.Add(-time.Nanosecond), now)
		if prev.Person != cur.Person {
			break
		}
		cur.Since = prev.Since
	}
	return OnCall{Team: teamName, At: now, Current: cur, Next: next}, nil
}

// segment returns the stretch of time around at during which one person is
// on call for the same reason; now words the reason (since or from).
func (t *team) segment(at, now time.Time) Shift {
	r := t.rot
	k, start, end := r.shiftAt(at)
	scheduled := r.members[mod(k, int64(len(r.members)))]
	since, until := start, end
	var active *slo.Override
	for i := range t.cfg.Overrides {
		o := &t.cfg.Overrides[i]
		if o.Covers != "" && o.Covers != scheduled || !o.Start.Before(end) || !o.End.After(start) {
			continue
		}
		if !o.Start.After(at) && at.Before(o.End) && (active == nil || !o.Start.Before(active.Start)) {
			active = o
		}
		for _, b := range []time.Time{o.Start, o.End} {
			if b.After(since) && !b.After(at) {
				since = b
			}
			if b.After(at) && b.Before(until) {
				until = b
			}
		}
	}
	if active != nil {
		why := fmt.Sprintf("%s covers %s until %s", active.Person, scheduled, r.format(active.End))
		if active.Start.After(now) {
			why = fmt.Sprintf("%s covers %s from %s until %s", active.Person, scheduled, r.format(active.Start), r.format(active.End))
		}
		return Shift{Person: active.Person, Covers: scheduled, Since: since, Until: until, Why: why}
	}
	verb := "since"
	if start.After(now) {
		verb = "from"
	}
	why := fmt.Sprintf("%s's %s shift %s %s", scheduled, r.kind(), verb, r.format(start))
	return Shift{Person: scheduled, Since: since, Until: until, Why: why}
}

// rotation is a validated slo.Rotation ready for arithmetic.
type rotation struct {
	members  []string
	loc      *time.Location
	shift    time.Duration
	days     int64 // shift in whole days; 0 when it is not
	epoch    time.Time
	epochDay int64 // civil day of epoch's local date
	minute   int   // handoff, minutes after local midnight
}

func newRotation(ro *slo.Rotation) *rotation {
	r := &rotation{
		members: ro.Members,
		loc:     ro.Location,
		shift:   time.Duration(ro.Shift),
		epoch:   ro.Epoch,
		minute:  ro.Handoff.Minute,
	}
	if r.shift%(24*time.Hour) == 0 {
		r.days = int64(r.shift / (24 * time.Hour))
	}
	r.epochDay = civilDay(r.epoch.In(r.loc))
	return r
}

// shiftAt returns the number of the rotation shift containing t (0 is
// members[0]'s first) and its bounds. Shifts of whole days count local
// calendar days and always hand off at the local handoff time, however long
// the days are; other shifts count real time from the epoch.
func (r *rotation) shiftAt(t time.Time) (k int64, start, end time.Time) {
	if r.days == 0 {
		k = floorDiv(int64(t.Sub(r.epoch)), int64(r.shift))
		start = r.epoch.Add(time.Duration(k) * r.shift)
		return k, start, start.Add(r.shift)
	}
	day := civilDay(t.In(r.loc))
	if t.Before(r.handoffOn(day)) {
		day--
	}
	k = floorDiv(day-r.epochDay, r.days)
	return k, r.handoffOn(r.epochDay + k*r.days), r.handoffOn(r.epochDay + (k+1)*r.days)
}

// handoffOn returns the handoff instant on a civil day. A handoff time that
// the clocks skip (02:30 when DST starts) moves forward with them, as
// time.Date normalizes it.
func (r *rotation) handoffOn(day int64) time.Time {
	y, m, d := time.Unix(day*86400, 0).UTC().Date()
	return time.Date(y, m, d, r.minute/60, r.minute%60, 0, 0, r.loc)
}

// kind names the shift length for people: daily, weekly, 2-week, 3-day, 12h.
func (r *rotation) kind() string {
	switch {
	case r.days == 1:
		return "daily"
	case r.days == 7:
		return "weekly"
	case r.days > 0 && r.days%7 == 0:
		return strconv.FormatInt(r.days/7, 10) + "-week"
	case r.days > 0:
		return strconv.FormatInt(r.days, 10) + "-day"
	}
	return model.Duration(r.shift).String()
}

func (r *rotation) format(t time.Time) string {
	return t.In(r.loc).Format("Mon 2 Jan 15:04") + " " + r.loc.String()
}

// civilDay numbers t's calendar date (in t's location) in days since
// 1970-01-01.
func civilDay(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func mod(a, n int64) int64 { return (a%n + n) % n }

// Recipient is one destination of an alert, with why it is there.
type Recipient struct {
	// Receiver names the configured receiver used; empty when the
	// recipient is reached through a person's own PagerDuty or email.
	Receiver string `json:"receiver,omitempty"`
	// Type is the receiver type: pagerduty, slack, webhook, alertmanager
	// or email.
	Type string `json:"type"`
	// Person names the person addressed, if any: paged through their own
	// PagerDuty routing key, mentioned by Slack user id in a Slack
	// receiver, or emailed.
	Person string `json:"person,omitempty"`
	// Address is the person's Slack user id or email address when the
	// recipient is a mention or an email; never a secret.
	Address string `json:"address,omitempty"`
	// Paging reports whether this recipient pages.
	Paging bool `json:"paging"`
	// Reason says why this recipient is told, for people.
	Reason string `json:"reason"`
}

// Route is who an alert would reach, for delivery and for the
// GET /api/v1/route dry run.
type Route struct {
	// Service is the alerting service's name.
	Service string `json:"service"`
	// Team is the owning team.
	Team string `json:"team"`
	// Severity is page or ticket.
	Severity string `json:"severity"`
	// OnCall is the team's on-call shift at the time asked about; nil when
	// the team has no rotation.
	OnCall *Shift `json:"onCall,omitempty"`
	// Recipients are everyone told, in order, each once.
	Recipients []Recipient `json:"recipients"`
	// Notes explain what could not be routed, e.g. an on-call person
	// without PagerDuty or a deploy author not in the people directory.
	Notes []string `json:"notes,omitempty"`
}

// Route returns who an alert of severity for service reaches at now.
//
// A page goes to the on-call person's PagerDuty and the team channel; a
// ticket goes only to non-paging receivers: the team channel and the
// on-call person's email. A service's alerting.page or alerting.ticket list,
// when set, replaces those defaults for its severity. When that reaches
// nobody (the team is not configured, or has neither channel nor anyone on
// call), the config's alerting.receivers take the alert, less the paging
// ones for a ticket. When suspectAuthor
// (the suspect deploy's author, a person's name or email, or "Name
// <email>") is someone other than the on-call person, they are told without
// being paged: mentioned in a Slack receiver of the route when they have a
// Slack id, else emailed. Its error wraps ErrUnknownSeverity.
func (d *Directory) Route(service *slo.Service, severity, suspectAuthor string, now time.Time) (Route, error) {
	if service == nil {
		return Route{}, errors.New("route: nil service")
	}
	if severity != SeverityPage && severity != SeverityTicket {
		return Route{}, fmt.Errorf("route %s severity %q: %w", service.Name, severity, ErrUnknownSeverity)
	}
	rt := Route{Service: service.Name, Team: service.Owner.Team, Severity: severity}
	b := &builder{rt: &rt}
	t := d.teams[service.Owner.Team]
	if t == nil {
		rt.Notes = append(rt.Notes, fmt.Sprintf("team %q is not configured: no team channel or on-call", service.Owner.Team))
	}
	var onCall *slo.Person
	if t != nil && t.rot != nil {
		oc, err := d.OnCall(t.cfg.Name, now)
		if err != nil {
			return Route{}, fmt.Errorf("route %s: %w", service.Name, err)
		}
		rt.OnCall = &oc.Current
		if p, ok := d.people[oc.Current.Person]; ok {
			onCall = &p
		}
	} else if t != nil {
		rt.Notes = append(rt.Notes, fmt.Sprintf("team %q has no rotation: nobody is on call", t.cfg.Name))
	}

	var override []string
	if a := service.Alerting; a != nil {
		override = a.Page
		if severity == SeverityTicket {
			override = a.Ticket
		}
	}
	switch {
	case len(override) > 0:
		for _, name := range override {
			rc, ok := d.receivers[name]
			switch {
			case !ok:
				rt.Notes = append(rt.Notes, fmt.Sprintf("alerting.%s names unknown receiver %q", severity, name))
			case severity == SeverityTicket && rc.Paging():
				rt.Notes = append(rt.Notes, fmt.Sprintf("receiver %q pages, so tickets skip it", name))
			default:
				b.add(Recipient{Receiver: name, Type: rc.Type, Paging: rc.Paging(),
					Reason: fmt.Sprintf("%s's alerting.%s names it", service.Name, severity)})
			}
		}
	default:
		if onCall != nil {
			d.addOnCall(b, *onCall, rt.OnCall, severity, t.cfg.Name)
		}
		if t != nil {
			d.addChannel(b, t.cfg)
		}
	}

	if len(rt.Recipients) == 0 {
		for _, name := range d.defaults {
			rc, ok := d.receivers[name]
			switch {
			case !ok:
				rt.Notes = append(rt.Notes, fmt.Sprintf("alerting.receivers names unknown receiver %q", name))
			case severity == SeverityTicket && rc.Paging():
			default:
				b.add(Recipient{Receiver: name, Type: rc.Type, Paging: rc.Paging(),
					Reason: "alerting.receivers: the default route for alerts no team receives"})
			}
		}
	}
	if suspectAuthor != "" {
		d.addAuthor(b, suspectAuthor, onCall)
	}
	if len(rt.Recipients) == 0 {
		rt.Notes = append(rt.Notes, "nobody would be notified")
	}
	return rt, nil
}

func (d *Directory) addOnCall(b *builder, p slo.Person, sh *Shift, severity, teamName string) {
	why := fmt.Sprintf("on call for %s: %s", teamName, sh.Why)
	if severity == SeverityPage {
		if p.HasPagerDuty() {
			b.add(Recipient{Type: slo.ReceiverPagerDuty, Person: p.Name, Paging: true, Reason: why})
		} else {
			b.rt.Notes = append(b.rt.Notes, fmt.Sprintf("%s is on call but has no PagerDuty routing key, so is not paged", p.Name))
		}
		return
	}
	switch {
	case p.Email == "":
	case !d.mail:
		b.rt.Notes = append(b.rt.Notes, fmt.Sprintf("%s is on call but not emailed: the config has no smtp section", p.Name))
	default:
		b.add(Recipient{Type: slo.ReceiverEmail, Person: p.Name, Address: p.Email, Reason: why})
	}
}

func (d *Directory) addChannel(b *builder, t slo.Team) {
	if t.Channel == "" {
		b.rt.Notes = append(b.rt.Notes, fmt.Sprintf("team %q has no channel", t.Name))
		return
	}
	rc := d.receivers[t.Channel]
	b.add(Recipient{Receiver: rc.Name, Type: rc.Type, Paging: rc.Paging(), Reason: fmt.Sprintf("team %s's channel", t.Name)})
}

func (d *Directory) addAuthor(b *builder, author string, onCall *slo.Person) {
	p, ok := d.matchPerson(author)
	switch {
	case !ok:
		b.rt.Notes = append(b.rt.Notes, fmt.Sprintf("suspect deploy author %q is not in the people directory", author))
		return
	case onCall != nil && p.Name == onCall.Name:
		b.rt.Notes = append(b.rt.Notes, fmt.Sprintf("suspect deploy author %s is on call already", p.Name))
		return
	}
	why := fmt.Sprintf("%s authored the suspect deploy", p.Name)
	if p.Slack != "" {
		for _, r := range b.rt.Recipients {
			if r.Type == slo.ReceiverSlack && r.Receiver != "" && r.Person == "" {
				b.add(Recipient{Receiver: r.Receiver, Type: slo.ReceiverSlack, Person: p.Name, Address: p.Slack, Reason: why + "; mentioned in " + r.Receiver})
				return
			}
		}
	}
	if p.Email != "" && d.mail {
		b.add(Recipient{Type: slo.ReceiverEmail, Person: p.Name, Address: p.Email, Reason: why})
		return
	}
	b.rt.Notes = append(b.rt.Notes, fmt.Sprintf("suspect deploy author %s has no Slack receiver in this route to be mentioned in and cannot be emailed (no email address or no smtp section)", p.Name))
}

// matchPerson finds the person an author string names: by name or email,
// ignoring case, also in "Name <email>" form.
func (d *Directory) matchPerson(author string) (slo.Person, bool) {
	author = strings.TrimSpace(author)
	keys := []string{author}
	if a, err := mail.ParseAddress(author); err == nil {
		keys = append(keys, a.Address, a.Name)
	}
	for _, name := range d.order {
		p := d.people[name]
		for _, k := range keys {
			if k != "" && (strings.EqualFold(k, p.Name) || p.Email != "" && strings.EqualFold(k, p.Email)) {
				return p, true
			}
		}
	}
	return slo.Person{}, false
}

// builder adds recipients once each.
type builder struct{ rt *Route }

func (b *builder) add(r Recipient) {
	for _, have := range b.rt.Recipients {
		if have.Receiver == r.Receiver && have.Type == r.Type && have.Person == r.Person {
			return
		}
	}
	b.rt.Recipients = append(b.rt.Recipients, r)
}
