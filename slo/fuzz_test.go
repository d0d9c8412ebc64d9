package slo

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadService feeds arbitrary bytes to the spec loader: it must never
// panic, every problem must say something, and a spec it accepts must have
// its parsed fields filled.
func FuzzLoadService(f *testing.F) {
	for _, pattern := range []string{"../testdata/specs/*.yaml", "../testdata/invalid/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("a: &a [*a, *a]\nb: *a\n"))
	f.Add([]byte("<<: {name: x}\n<<: [*y]\n"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		svc, r := parseService("fuzz.yaml", data)
		for _, p := range r.problems {
			if p.Message == "" || p.File != "fuzz.yaml" {
				t.Errorf("problem without message or file: %+v", p)
			}
		}
		if svc == nil || len(r.problems) > 0 {
			return
		}
		if len(svc.SLOs) == 0 {
			t.Fatal("accepted a service without SLOs")
		}
		for _, o := range svc.SLOs {
			if o.Win == (Window{}) || o.Budgeting == "" {
				t.Errorf("accepted SLO %q without parsed window or budgeting", o.Name)
			}
			if o.SLI.Ratio != nil && o.SLI.Ratio.TotalMatchers == nil {
				t.Errorf("accepted ratio SLO %q without total matchers", o.Name)
			}
			if o.SLI.Latency != nil && (o.SLI.Latency.BucketMatchers == nil || o.SLI.Latency.CountMatchers == nil) {
				t.Errorf("accepted latency SLO %q without matchers", o.Name)
			}
		}
	})
}
