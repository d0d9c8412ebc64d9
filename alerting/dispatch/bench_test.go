package dispatch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting/dispatch"
	"github.com/slogate/slogate/alerting/oncall"
	"github.com/slogate/slogate/alerting/state"
	"github.com/slogate/slogate/budget/monitor"
	"github.com/slogate/slogate/slo"
)

// BenchmarkUpdate1000Services measures one evaluation's alerting work for
// 1,000 services of two SLOs each, ten of them burning (an open page each,
// saved every evaluation), the rest quiet: what the evaluation loop adds
// on a large server.
func BenchmarkUpdate1000Services(b *testing.B) {
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "specs"), 0o755); err != nil {
		b.Fatal(err)
	}
	const n = 1000
	for i := range n {
		spec := fmt.Sprintf("name: svc-%d\nowner: {team: t}\nrunbook: https://runbooks.example.com/%d\nslos:\n"+
			"  - {name: availability, objective: 99.9, window: 28d, sli: {push: {}}}\n"+
			"  - {name: latency, objective: 99, window: 28d, sli: {push: {}}}\n", i, i)
		if err := os.WriteFile(filepath.Join(dir, "specs", fmt.Sprintf("svc-%d.yaml", i)), []byte(spec), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "slogate.yaml"), []byte("storage: slogate.db\nspecs: [specs]\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	cat, err := slo.Load(filepath.Join(dir, "slogate.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	mem, err := state.Open(ctx, cat.Config.Storage)
	if err != nil {
		b.Fatal(err)
	}
	defer mem.Close()
	dir2, err := oncall.New(cat.Config)
	if err != nil {
		b.Fatal(err)
	}
	d, err := dispatch.New(ctx, dispatch.Config{Catalog: cat, Directory: dir2, Memory: mem})
	if err != nil {
		b.Fatal(err)
	}
	snap := &monitor.Snapshot{}
	for i, svc := range cat.Services {
		st := &monitor.ServiceStatus{Name: svc.Name}
		rate := 0.2
		if i%100 == 0 {
			rate = 80
		}
		for _, o := range svc.SLOs {
			st.SLOs = append(st.SLOs, &monitor.SLOStatus{Service: svc.Name, Name: o.Name, Raw: burning(rate)})
		}
		snap.Services = append(snap.Services, st)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		snap.At = t0.Add(time.Duration(i) * 15 * time.Second)
		d.Update(ctx, snap)
	}
	b.StopTimer()
	if got := len(d.Alerts()); got != n/100 {
		b.Fatalf("got %d alerts, want %d", got, n/100)
	}
}
