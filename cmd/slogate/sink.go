package main

import (
	"context"

	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/budget/monitor"
	"github.com/slogate/slogate/budget/store"
	"github.com/slogate/slogate/slo/source"
)

// sink stores what the sources count in the monitor, which makes it
// durable before returning.
type sink struct{ m *monitor.Monitor }

var _ source.Sink = sink{}

// Record implements source.Sink.
func (s sink) Record(ctx context.Context, incs []source.Increase, cps []source.Checkpoint) error {
	adds := make([]monitor.Add, 0, len(incs))
	for _, in := range incs {
		adds = append(adds, monitor.Add{
			SLO:    monitor.Key(in.Service, in.SLO),
			Minute: budget.MinuteOf(in.Minute),
			Counts: budget.Counts{Good: in.Good, Total: in.Total},
		})
	}
	states := make([]store.State, 0, len(cps))
	for _, cp := range cps {
		states = append(states, store.State{Key: cp.Key, Data: cp.Data})
	}
	return s.m.Record(ctx, adds, states)
}

// Checkpoint implements source.Sink.
func (s sink) Checkpoint(ctx context.Context, key string) ([]byte, bool, error) {
	return s.m.State(ctx, key)
}
