package slo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadWithSourcesAddsSpecsThatAreNotFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"slogate.yaml":      "specs: [specs]\n",
		"specs/export.yaml": "name: export\nowner: {team: data}\nrunbook: https://r.example.com\nslos:\n  - {name: success, objective: 95, window: 7d, sli: {push: {}}}\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	config := filepath.Join(dir, "slogate.yaml")
	spec := func(name, objective string) SpecSource {
		return SpecSource{File: "api:" + name, Data: []byte("name: " + name +
			"\nowner: {team: payments}\nrunbook: https://r.example.com\nslos:\n  - name: availability\n    objective: " +
			objective + "\n    window: 7d\n    sli: {push: {}}\n")}
	}
	replacing := spec("export", "99.5")
	replacing.Replaces = true
	for _, tc := range []struct {
		name    string
		sources []SpecSource
		want    string // a problem's text; empty when it loads
		last    string // the last service loaded, when it loads
	}{
		{"a valid source loads after the files", []SpecSource{spec("checkout", "99")}, "", "checkout"},
		{"a replacing source takes the place of a file's service", []SpecSource{replacing}, "", "export"},
		{"a source's problem names the source, line and field", []SpecSource{spec("checkout", "150")},
			"api:checkout:6: slos[0].objective:", ""},
		{"a source may not redefine another source's service", []SpecSource{spec("checkout", "99"), spec("checkout", "98")},
			`api:checkout:1: name: service "checkout" is already defined in api:checkout:1`, ""},
		{"a file's service shadows a source's, with a warning", []SpecSource{spec("export", "99"), spec("checkout", "99")}, "", "checkout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cat, err := LoadWithSources(config, tc.sources)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want it to load", err)
				}
				if got := cat.Services[len(cat.Services)-1]; got.Name != tc.last || got.File != "api:"+tc.last {
					t.Fatalf("got last service %s from %s, want %s from api:%[3]s", got.Name, got.File, tc.last)
				}
				for _, svc := range cat.Services {
					if svc.Name == tc.last && svc.File != "api:"+tc.last {
						t.Fatalf("%s is loaded from %s too", tc.last, svc.File)
					}
					if svc.File == "api:export" && !tc.sources[0].Replaces {
						t.Fatal("the shadowed api:export is loaded")
					}
				}
				if tc.sources[0].File == "api:export" && !tc.sources[0].Replaces {
					want := `api:export:1: name: warning: service "export" is also defined in ` + filepath.Join(dir, "specs", "export.yaml") + ":1, which wins"
					if !strings.Contains(cat.Warnings.Error(), want) {
						t.Fatalf("got warnings %v, want %q", cat.Warnings, want)
					}
				}
				return
			}
			var ps Problems
			if !errors.As(err, &ps) || !strings.Contains(ps.Error(), tc.want) {
				t.Fatalf("got %v, want a problem %q", err, tc.want)
			}
		})
	}
}
