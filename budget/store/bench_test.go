package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/slogate/slogate/budget"
)

// blockPool returns n hours of realistic traffic as blocks: a few hundred
// events a minute with Poisson-like noise and a few bad events.
func blockPool(n int) []budget.Block {
	rng := rand.New(rand.NewPCG(5, 5))
	h := budget.NewHistory()
	var out []budget.Block
	for b := range n {
		rate := 300 + 700*rng.Float64()
		for i := range 60 {
			total := float64(int(rate + rng.NormFloat64()*sqrt(rate)))
			bad := float64(int(rng.ExpFloat64() * 0.3))
			h.Add(budget.Minute(b*60+i), budget.Counts{Good: total - bad, Total: total})
		}
	}
	for _, blk := range h.Dirty() {
		out = append(out, blk)
	}
	return out
}

func sqrt(x float64) float64 {
	z := x
	for range 20 {
		z = (z + x/z) / 2
	}
	return z
}

// BenchmarkRestore1000SLOs saves 1,000 SLOs with 28 days of blocks each,
// reports the disk they take, then measures restoring them all into
// Histories, as a start does.
func BenchmarkRestore1000SLOs(b *testing.B) {
	const slos, hours = 1000, 28 * 24
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "slogate.db")
	s, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	pool := blockPool(2000)
	rng := rand.New(rand.NewPCG(1, 1))
	start := budget.MinuteOf(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC))
	for i := range slos {
		rs := make([]BlockRecord, hours)
		for h := range rs {
			rs[h] = BlockRecord{SLO: fmt.Sprintf("service-%d/availability", i),
				Block: budget.Block{Start: start + budget.Minute(h*60), Data: pool[rng.IntN(len(pool))].Data}}
		}
		if err := s.Save(ctx, rs, nil); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.write.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		hs := map[string]*budget.History{}
		err := s.LoadBlocks(ctx, start, func(r BlockRecord) error {
			h := hs[r.SLO]
			if h == nil {
				h = budget.NewHistory()
				hs[r.SLO] = h
			}
			return h.LoadBlock(r.Block)
		})
		if err != nil || len(hs) != slos {
			b.Fatalf("restored %d SLOs, %v", len(hs), err)
		}
	}
	b.ReportMetric(float64(st.Bytes)/slos, "disk-bytes/SLO")
	b.ReportMetric(float64(st.Bytes)/(1<<20), "disk-MiB")
}

// BenchmarkSave measures one Save of one new block for each of 100 SLOs
// and a source state, as a scrape does.
func BenchmarkSave(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "slogate.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	pool := blockPool(10)
	i := 0
	for b.Loop() {
		rs := make([]BlockRecord, 100)
		for j := range rs {
			rs[j] = BlockRecord{SLO: fmt.Sprintf("s%d/a", j), Block: budget.Block{Start: budget.Minute(i * 60), Data: pool[j%10].Data}}
		}
		if err := s.Save(ctx, rs, []State{{Key: "scrape", Data: []byte("checkpoint")}}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
