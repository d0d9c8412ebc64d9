package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slogate/slogate/budget"
)

func open(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// history returns a History with hours of random traffic from start.
func history(seed uint64, start budget.Minute, hours int) *budget.History {
	rng := rand.New(rand.NewPCG(seed, 7))
	h := budget.NewHistory()
	rate := 100 + rng.Float64()*900
	for m := start; m < start+budget.Minute(hours*60); m++ {
		total := float64(int(rate + 30*rng.NormFloat64()))
		bad := float64(rng.IntN(3) / 2)
		h.Add(m, budget.Counts{Good: total - bad, Total: total})
	}
	return h
}

func records(key string, h *budget.History) []BlockRecord {
	var rs []BlockRecord
	for _, b := range h.Dirty() {
		rs = append(rs, BlockRecord{SLO: key, Block: b})
	}
	return rs
}

func loadAll(t testing.TB, s *Store, since budget.Minute) []BlockRecord {
	t.Helper()
	var got []BlockRecord
	err := s.LoadBlocks(context.Background(), since, func(r BlockRecord) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatalf("load blocks: %v", err)
	}
	return got
}

var start = budget.MinuteOf(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC))

func TestSaveThenLoad(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "slogate.db"))
	a, b := history(1, start, 5), history(2, start+120, 2)
	want := append(records("checkout/availability", a), records("search/latency", b)...)
	if err := s.Save(ctx, want, []State{{Key: "scrape/web", Data: []byte("v1")}, {Key: "empty"}}); err != nil {
		t.Fatalf("save: %v", err)
	}
	t.Run("every block comes back, SLO by SLO and oldest first", func(t *testing.T) {
		got := loadAll(t, s, 0)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("got %v\nwant %v", got, want)
		}
	})
	t.Run("blocks before since are left out", func(t *testing.T) {
		got := loadAll(t, s, start+180)
		if len(got) != 3 || got[0].Block.Start != start+180 || got[2].SLO != "search/latency" {
			t.Errorf("got %v, want 2 blocks of checkout/availability from %d and 1 of search/latency", got, start+180)
		}
	})
	t.Run("saving a block again replaces it", func(t *testing.T) {
		a.Add(start+1, budget.Counts{Good: 1, Total: 2})
		if err := s.Save(ctx, records("checkout/availability", a), nil); err != nil {
			t.Fatalf("save: %v", err)
		}
		got := loadAll(t, s, start)[0]
		if want := a.Dirty()[0]; string(got.Block.Data) != string(want.Data) {
			t.Errorf("got %x, want %x", got.Block.Data, want.Data)
		}
	})
	t.Run("states come back and missing ones are reported", func(t *testing.T) {
		for _, tt := range []struct {
			key, want string
			ok        bool
		}{{"scrape/web", "v1", true}, {"empty", "", true}, {"nope", "", false}} {
			got, ok, err := s.State(ctx, tt.key)
			if err != nil || ok != tt.ok || string(got) != tt.want {
				t.Errorf("state %q: got %q %v %v, want %q %v", tt.key, got, ok, err, tt.want, tt.ok)
			}
		}
	})
	t.Run("an error from fn stops loading", func(t *testing.T) {
		n := 0
		err := s.LoadBlocks(ctx, 0, func(BlockRecord) error { n++; return fmt.Errorf("stop") })
		if err == nil || err.Error() != "stop" || n != 1 {
			t.Errorf("got %v after %d blocks, want stop after 1", err, n)
		}
	})
}

func TestSaveIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "slogate.db"))
	rs := records("a/b", history(1, start, 2))
	rs = append(rs, BlockRecord{SLO: "", Block: rs[0].Block})
	if err := s.Save(ctx, rs, []State{{Key: "k", Data: []byte("x")}}); err == nil {
		t.Fatal("save of a block without SLO key: got no error")
	}
	if got := loadAll(t, s, 0); len(got) != 0 {
		t.Errorf("got %d blocks after a failed save, want 0", len(got))
	}
	if _, ok, _ := s.State(ctx, "k"); ok {
		t.Error("got the state of a failed save")
	}
	// The id of an SLO created in the failed transaction must not be
	// cached.
	if err := s.Save(ctx, rs[:1], nil); err != nil {
		t.Fatalf("save after failure: %v", err)
	}
	if got := loadAll(t, s, 0); len(got) != 1 || got[0].SLO != "a/b" {
		t.Errorf("got %v, want one block of a/b", got)
	}
}

func TestReopenRestoresHistoriesExactly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slogate.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*budget.History{}
	var rs []BlockRecord
	for i := range 20 {
		key := fmt.Sprintf("svc%d/slo", i)
		want[key] = history(uint64(i), start+budget.Minute(i*7), 30)
		want[key].Add(start+budget.Minute(i), budget.Counts{Good: 0.5, Total: 0.75}) // a float block
		rs = append(rs, records(key, want[key])...)
	}
	if err := s.Save(ctx, rs, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s = open(t, path)
	got := map[string]*budget.History{}
	err = s.LoadBlocks(ctx, 0, func(r BlockRecord) error {
		if got[r.SLO] == nil {
			got[r.SLO] = budget.NewHistory()
		}
		return got[r.SLO].LoadBlock(r.Block)
	})
	if err != nil {
		t.Fatal(err)
	}
	for key, w := range want {
		g := got[key]
		if g == nil {
			t.Fatalf("%s: not restored", key)
		}
		n := 0
		w.Each(start-60, start+40*60, func(m budget.Minute, c budget.Counts) {
			n++
			if gc := g.At(m); gc != c {
				t.Fatalf("%s minute %d: got %+v, want %+v", key, m, gc, c)
			}
		})
		g.Each(start-60, start+40*60, func(budget.Minute, budget.Counts) { n-- })
		if n != 0 {
			t.Errorf("%s: restored history has %d minutes more or less than saved", key, -n)
		}
		if d := g.Dirty(); len(d) != 0 {
			t.Errorf("%s: got %d dirty blocks after restore, want 0", key, len(d))
		}
	}
}

func TestOpenMigratesOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slogate.db")
	for i := range 3 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if i == 0 {
			if err := s.Save(ctx, records("a/b", history(1, start, 1)), nil); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		names, _ := migrations.ReadDir("migrations")
		if n != len(names) {
			t.Errorf("open %d: got %d applied migrations, want %d", i, n, len(names))
		}
		if got := loadAll(t, s, 0); len(got) != 1 {
			t.Errorf("open %d: got %d blocks, want the 1 saved", i, len(got))
		}
		var mode string
		if err := s.read.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal mode: got %q %v, want wal", mode, err)
		}
		s.Close()
	}
}

func TestReadsDoNotWaitForWrites(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "slogate.db"))
	if err := s.Save(ctx, records("a/b", history(1, start, 2)), []State{{Key: "k", Data: []byte("old")}}); err != nil {
		t.Fatal(err)
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE states SET data = 'new'`); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	got, ok, err := s.State(rctx, "k")
	if err != nil || !ok || string(got) != "old" {
		t.Errorf("state during a write: got %q %v %v, want the committed \"old\"", got, ok, err)
	}
	if n := len(loadAll(t, s, 0)); n != 2 {
		t.Errorf("blocks during a write: got %d, want 2", n)
	}
}

func TestConcurrentReadsDuringWrites(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "slogate.db"))
	h := budget.NewHistory()
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 8)
	wg.Go(func() {
		defer close(done)
		for i := range 200 {
			m := start + budget.Minute(i*7)
			h.Add(m, budget.Counts{Good: 9, Total: 10})
			rs := records("a/b", h)
			if err := s.Save(ctx, rs, []State{{Key: "n", Data: []byte(strconv.Itoa(i))}}); err != nil {
				errs <- err
				return
			}
			for _, r := range rs {
				h.MarkClean([]budget.Block{r.Block})
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			last := -1
			for {
				select {
				case <-done:
					return
				default:
				}
				d, ok, err := s.State(ctx, "n")
				if err != nil {
					errs <- err
					return
				}
				if ok {
					n, _ := strconv.Atoi(string(d))
					if n < last {
						errs <- fmt.Errorf("state went back from %d to %d", last, n)
						return
					}
					last = n
				}
				if err := s.LoadBlocks(ctx, 0, func(BlockRecord) error { return nil }); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDeleteBefore(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "slogate.db"))
	rs := append(records("a/b", history(1, start, 5)), records("c/d", history(2, start, 3))...)
	if err := s.Save(ctx, rs, nil); err != nil {
		t.Fatal(err)
	}
	// Minute 30 of the third hour: the first two hours end before it.
	n, err := s.DeleteBefore(ctx, start+150)
	if err != nil || n != 4 {
		t.Errorf("got %d deleted, %v; want 4", n, err)
	}
	for _, r := range loadAll(t, s, 0) {
		if r.Block.Start < start+120 {
			t.Errorf("block %s at %d survived", r.SLO, r.Block.Start)
		}
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Blocks != 4 || st.SLOs != 2 || st.Bytes <= 0 {
		t.Errorf("stats: got %+v %v, want 4 blocks of 2 SLOs", st, err)
	}
}

const crashEnv = "SLOGATE_STORE_CRASH_DB"

// TestCrashChild is the process TestSaveSurvivesKill kills: it saves
// forever, printing the number of each Save once it returned.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestSaveSurvivesKill")
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	h := budget.NewHistory()
	for i := 0; ; i++ {
		h.Add(start+budget.Minute(i), budget.Counts{Good: float64(i), Total: float64(i + 1)})
		if err := s.Save(ctx, records("a/b", h), []State{{Key: "n", Data: []byte(strconv.Itoa(i))}}); err != nil {
			t.Fatal(err)
		}
		h.MarkClean(h.Dirty())
		fmt.Printf("saved %d\n", i)
	}
}

func TestSaveSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	path := filepath.Join(t.TempDir(), "slogate.db")
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := -1
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var n int
			if _, err := fmt.Sscanf(sc.Text(), "saved %d", &n); err == nil {
				acked = n
				if n >= 50+round*37 {
					break
				}
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		if acked < 0 {
			t.Fatalf("round %d: child saved nothing", round)
		}
		s, err := Open(context.Background(), path)
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		d, ok, err := s.State(context.Background(), "n")
		got, _ := strconv.Atoi(string(d))
		if err != nil || !ok || got < acked {
			t.Errorf("round %d: got state %q %v %v, want at least %d, the last acknowledged save", round, d, ok, err, acked)
		}
		h := budget.NewHistory()
		err = s.LoadBlocks(context.Background(), 0, func(r BlockRecord) error { return h.LoadBlock(r.Block) })
		if err != nil {
			t.Errorf("round %d: load: %v", round, err)
		}
		for i := 0; i <= acked; i++ {
			if c := h.At(start + budget.Minute(i)); c.Total < float64(i+1) {
				t.Fatalf("round %d: minute %d: got %+v, want its acknowledged count", round, i, c)
			}
		}
		s.Close()
	}
}
