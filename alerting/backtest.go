package alerting

import (
	"errors"
	"fmt"
	"time"

	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/slo"
)

// BacktestConfig says what Backtest replays.
type BacktestConfig struct {
	// Service names the service.
	Service string
	// SLOs are the service's SLOs to replay, each with its history.
	SLOs []BacktestSLO
	// From and To bound the replay: every minute from From's to To's,
	// both included, is evaluated.
	From, To time.Time
	// HoldDown is as in Config.
	HoldDown time.Duration
}

// BacktestSLO is one SLO to replay and the data to replay it over.
type BacktestSLO struct {
	// SLO is the SLO as validation leaves it (Win set).
	SLO slo.SLO
	// Schedule is the SLO's compiled schedule; nil means always on.
	Schedule *slo.Schedule
	// History holds the SLO's per-minute counts.
	History *budget.History
	// Rules and MinBadEvents are as in SLOConfig; nil Rules means
	// DefaultRules scaled to the SLO's window.
	Rules        []Rule
	MinBadEvents float64
}

// Backtest replays the SLOs' histories through budget trackers and an
// Evaluator minute by minute over [From, To] and returns every alert that
// would have fired, in the order they started: Started is the detection
// time and Resolved the reset time, zero for an alert still firing at To.
// Each minute is evaluated at its last second, once its counts are
// complete, so times end in :59.
// It is pure: the same histories give the same alerts. It does not change
// the histories, but must not run concurrently with changes to them.
func Backtest(cfg BacktestConfig) ([]Alert, error) {
	if cfg.To.Before(cfg.From) {
		return nil, fmt.Errorf("backtest %s: to %v is before from %v", cfg.Service, cfg.To, cfg.From)
	}
	ec := Config{Service: cfg.Service, HoldDown: cfg.HoldDown}
	trackers := make([]*budget.Tracker, len(cfg.SLOs))
	for i, s := range cfg.SLOs {
		if !(s.SLO.Objective > 0 && s.SLO.Objective < 100) {
			return nil, fmt.Errorf("backtest %s/%s: objective %v, want strictly between 0 and 100", cfg.Service, s.SLO.Name, s.SLO.Objective)
		}
		if !s.SLO.Win.IsCalendar() && (s.SLO.Win.Rolling < time.Minute || s.SLO.Win.Rolling%time.Minute != 0) {
			return nil, fmt.Errorf("backtest %s/%s: window %q, want a validated window of whole minutes", cfg.Service, s.SLO.Name, s.SLO.Window)
		}
		if s.History == nil {
			return nil, errors.New("backtest " + cfg.Service + "/" + s.SLO.Name + ": no history")
		}
		trackers[i] = budget.NewTracker(s.SLO, s.Schedule, s.History)
		ec.SLOs = append(ec.SLOs, SLOConfig{
			Name: s.SLO.Name, Window: WindowLength(s.SLO.Win),
			Rules: s.Rules, MinBadEvents: s.MinBadEvents,
		})
	}
	ev, err := NewEvaluator(ec)
	if err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	var alerts []Alert
	open := map[string]int{} // alert key to its index in alerts
	statuses := make(map[string]budget.Status, len(trackers))
	for m := budget.MinuteOf(cfg.From); m <= budget.MinuteOf(cfg.To); m++ {
		// The last second of the minute: its counts are then complete, and
		// detection times are no earlier than they could be live.
		now := m.Time().Add(time.Minute - time.Second)
		for i, t := range trackers {
			statuses[cfg.SLOs[i].SLO.Name] = t.Evaluate(now)
		}
		for _, e := range ev.Evaluate(now, statuses) {
			switch e.Kind {
			case EventFiring:
				open[e.Alert.Key] = len(alerts)
				alerts = append(alerts, e.Alert)
			case EventResolved:
				alerts[open[e.Alert.Key]] = e.Alert
				delete(open, e.Alert.Key)
			}
		}
	}
	// Alerts still firing get their latest numbers.
	for _, a := range ev.Firing() {
		if i, ok := open[a.Key]; ok {
			alerts[i] = a
		}
	}
	return alerts, nil
}
