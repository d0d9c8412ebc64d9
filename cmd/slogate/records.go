package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/slogate/slogate/alerting/outbox"
)

// recordsInterval is how often operational records older than
// recordRetention are pruned.
const recordsInterval = time.Hour

// recordPruner is a store whose operational records recordRetention
// bounds.
type recordPruner interface {
	Prune(ctx context.Context, before time.Time) (int64, error)
}

// namedPruner is a recordPruner with the name its store is logged by.
type namedPruner struct {
	store  string
	pruner recordPruner
}

// pruneRecords prunes the process's operational records older than the
// running configuration's recordRetention at once, then every interval,
// until ctx ends. The outbox's records are opened apart from the running
// outbox, which a reload replaces and which does not exist without
// receivers, while notifications stored with receivers still need
// pruning.
func (p *process) pruneRecords(ctx context.Context, interval time.Duration) {
	pruners := []namedPruner{{"alerting state", p.mem}, {"gate", p.gst}}
	if ob, err := outbox.OpenRecords(ctx, p.storage); err != nil {
		p.log.Error("cannot prune notifications", "err", err)
	} else {
		defer ob.Close()
		pruners = append([]namedPruner{{"outbox", ob}}, pruners...)
	}
	runPrunes(ctx, interval, p.recordCutoff, pruners, p.log)
}

// recordCutoff is the time before which records are pruned now: the
// process clock less the running configuration's recordRetention. A
// retention that is not positive, which a loaded configuration never has,
// prunes nothing rather than everything: nothing is before the zero time.
func (p *process) recordCutoff() time.Time {
	p.reloadMu.Lock()
	retention := time.Duration(p.cur.cat.Config.RecordRetention)
	p.reloadMu.Unlock()
	if retention <= 0 {
		return time.Time{}
	}
	return p.now().Add(-retention)
}

// runPrunes asks every pruner to delete the records from before cutoff()
// at once, then every interval, until ctx ends. A store that fails is
// logged and tried again at the next round; the others go on.
func runPrunes(ctx context.Context, interval time.Duration, cutoff func() time.Time, pruners []namedPruner, log *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		before := cutoff()
		for _, np := range pruners {
			n, err := np.pruner.Prune(ctx, before)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				log.Error("cannot prune old records", "store", np.store, "before", before, "err", err)
			case n > 0:
				log.Info("old records pruned", "store", np.store, "before", before, "deleted", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
