package monitor

import (
	"time"

	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/slo"
)

// Snapshot is the result of one evaluation of every SLO. It is immutable
// once published.
type Snapshot struct {
	// At is the evaluation time.
	At time.Time `json:"evaluatedAt"`
	// Services in spec order, each with its SLOs.
	Services []*ServiceStatus `json:"services"`

	byService map[string]*ServiceStatus
}

// Service returns the named service's status, or nil.
func (s *Snapshot) Service(name string) *ServiceStatus {
	return s.byService[name]
}

// SLO returns one SLO's status, or nil.
func (s *Snapshot) SLO(service, name string) *SLOStatus {
	svc := s.Service(service)
	if svc == nil {
		return nil
	}
	for _, o := range svc.SLOs {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// States an SLO can be in, from best to worst.
const (
	StateOK        = "ok"        // budget left and no fast burn
	StateNoData    = "no_data"   // no events in the window
	StateBurning   = "burning"   // 1h burn above 1: spending faster than sustainable
	StateExhausted = "exhausted" // no budget left
)

// ServiceStatus is one service and its SLOs.
type ServiceStatus struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Team        string            `json:"team"`
	Runbook     string            `json:"runbook,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	File        string            `json:"file,omitempty"`
	// State is the worst state of its SLOs.
	State string `json:"state"`
	// LowestBudgetRemaining is the smallest remaining budget ratio of its
	// SLOs with data; absent when none has data.
	LowestBudgetRemaining *float64     `json:"lowestBudgetRemaining"`
	SLOs                  []*SLOStatus `json:"slos"`
}

func newServiceStatus(s *slo.Service) *ServiceStatus {
	return &ServiceStatus{
		Name: s.Name, Description: s.Description, Team: s.Owner.Team,
		Runbook: s.Runbook, Labels: s.Labels, File: s.File,
	}
}

var stateRank = map[string]int{StateOK: 0, StateNoData: 1, StateBurning: 2, StateExhausted: 3}

func (s *ServiceStatus) summarize() {
	s.State = StateOK
	for _, o := range s.SLOs {
		if stateRank[o.State] > stateRank[s.State] {
			s.State = o.State
		}
		if o.Budget.RemainingRatio != nil && (s.LowestBudgetRemaining == nil || *o.Budget.RemainingRatio < *s.LowestBudgetRemaining) {
			v := *o.Budget.RemainingRatio
			s.LowestBudgetRemaining = &v
		}
	}
}

// SLOStatus is one SLO's budget at the evaluation time.
type SLOStatus struct {
	Service     string  `json:"service"`
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Objective   float64 `json:"objective"`
	Window      string  `json:"window"`
	Budgeting   string  `json:"budgeting"`
	SLIKind     string  `json:"sliKind"`
	Source      string  `json:"source"`
	State       string  `json:"state"`

	// Raw is the engine's status the views are made from, for the
	// alerting evaluators.
	Raw budget.Status `json:"-"`

	Budget   BudgetView    `json:"budget"`
	Burn     []BurnView    `json:"burnRates"`
	Forecast ForecastView  `json:"forecast"`
	Schedule ScheduleView  `json:"schedule"`
	Data     FreshnessView `json:"data"`
}

// BudgetView is the error budget over the SLO's window.
type BudgetView struct {
	WindowStart time.Time `json:"windowStart"`
	WindowEnd   time.Time `json:"windowEnd"`
	// Unit is "events" for occurrences and "minutes" for timeslices.
	Unit  string  `json:"unit"`
	Good  float64 `json:"good"`
	Total float64 `json:"total"`
	// SLI is good/total; absent without data.
	SLI *float64 `json:"sli"`
	// Allowed is the budget in Unit: (1-objective) × total.
	Allowed   float64 `json:"allowed"`
	Spent     float64 `json:"spent"`
	Remaining float64 `json:"remaining"`
	// RemainingRatio is remaining/allowed; 1 without data, below zero once
	// overspent.
	RemainingRatio *float64 `json:"remainingRatio"`
	NoData         bool     `json:"noData"`
}

// BurnView is the burn rate over one window.
type BurnView struct {
	Window string `json:"window"`
	// Rate is absent without data in the window.
	Rate  *float64 `json:"rate"`
	Good  float64  `json:"good"`
	Total float64  `json:"total"`
}

// ForecastView says when the budget runs out at the current burn.
type ForecastView struct {
	// ExhaustedAt1h is when the budget runs out at the 1h burn rate; absent
	// when it does not within the window.
	ExhaustedAt1h *time.Time `json:"exhaustedAt1h"`
	// ExhaustedAt6h is the same at the 6h burn rate.
	ExhaustedAt6h *time.Time `json:"exhaustedAt6h"`
}

// ScheduleView tells whether budget is being spent right now.
type ScheduleView struct {
	Name     string `json:"name"`
	TimeZone string `json:"timeZone"`
	Active   bool   `json:"active"`
}

// FreshnessView tells how current the SLO's data is.
type FreshnessView struct {
	// Until is the end of the latest minute with events.
	Until *time.Time `json:"until"`
	// AgeSeconds is how long ago Until was.
	AgeSeconds *float64 `json:"ageSeconds"`
	// PartialSince is set when history before it is missing.
	PartialSince *time.Time `json:"partialSince,omitempty"`
	Backfilling  bool       `json:"backfilling,omitempty"`
	SourceError  string     `json:"sourceError,omitempty"`
}

func sliKind(s slo.SLI) string {
	switch {
	case s.Latency != nil:
		return "latency"
	case s.Push != nil:
		return "push"
	}
	return "ratio"
}

func sourceName(s slo.SLI) string {
	switch {
	case s.Push != nil:
		return "push"
	case s.Source != "":
		return s.Source
	}
	return "scrape"
}

func ptr[T any](v T) *T { return &v }

func newSLOStatus(e *entry, st budget.Status, now time.Time) *SLOStatus {
	s := &SLOStatus{
		Service: e.service.Name, Name: e.spec.Name, Description: e.spec.Description,
		Objective: e.spec.Objective, Window: e.spec.Win.String(), Budgeting: e.spec.Budgeting,
		SLIKind: sliKind(e.spec.SLI), Source: sourceName(e.spec.SLI),
		Schedule: ScheduleView{Name: e.sched.Name, TimeZone: e.sched.Location.String(), Active: st.Active},
		Raw:      st,
	}
	b := &s.Budget
	b.WindowStart, b.WindowEnd, b.Unit = st.Start, st.End, st.Unit
	b.Good, b.Total, b.NoData = st.Good, st.Total, st.NoData
	b.Allowed, b.Spent, b.Remaining = st.Budget, st.Spent, st.Remaining
	b.RemainingRatio = ptr(st.RemainingRatio)
	if !st.NoData {
		b.SLI = ptr(st.SLI)
	}
	for _, br := range st.Burn {
		v := BurnView{Window: slo.Window{Rolling: br.Window}.String(), Good: br.Good, Total: br.Total}
		if !br.NoData {
			v.Rate = ptr(br.Rate)
		}
		s.Burn = append(s.Burn, v)
	}
	if x := st.Exhaustion1h; x != nil {
		s.Forecast.ExhaustedAt1h = ptr(x.At)
	}
	if x := st.Exhaustion6h; x != nil {
		s.Forecast.ExhaustedAt6h = ptr(x.At)
	}
	if e.hasLast {
		until := e.last.Time().Add(time.Minute)
		s.Data.Until = &until
		s.Data.AgeSeconds = ptr(max(0, now.Sub(until).Seconds()))
	}
	s.State = sloState(st)
	return s
}

func sloState(st budget.Status) string {
	switch {
	case st.NoData:
		return StateNoData
	case st.RemainingRatio <= 0:
		return StateExhausted
	}
	for _, br := range st.Burn {
		if br.Window == time.Hour && !br.NoData && br.Rate > 1 {
			return StateBurning
		}
	}
	return StateOK
}

func (s *SLOStatus) applySource(src SourceStatus, st budget.Status) {
	if !src.PartialSince.IsZero() && src.PartialSince.After(st.Start) {
		s.Data.PartialSince = ptr(src.PartialSince.UTC())
	}
	s.Data.Backfilling = src.Backfilling
	s.Data.SourceError = src.Error
}
