package translate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slogate/slogate/slo"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var formats = []struct {
	dir       string
	translate func([]Input, Options) Result
}{
	{"openslo", OpenSLO},
	{"sloth", Sloth},
}

// render is what the golden files hold: every spec as slogate import
// writes it, then the report.
func render(t *testing.T, res Result) string {
	t.Helper()
	var b strings.Builder
	for _, s := range res.Services {
		out, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(out)
	}
	b.WriteString("# report\n")
	for _, p := range res.Report {
		b.WriteString(p.String() + "\n")
	}
	return b.String()
}

// TestImportTranslationsMatchGoldenFiles translates every example under
// testdata/<format>/ on its own and compares the specs and the report
// with the .golden file next to it.
func TestImportTranslationsMatchGoldenFiles(t *testing.T) {
	for _, f := range formats {
		files, err := filepath.Glob(filepath.Join("testdata", f.dir, "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no examples in testdata/%s: %v", f.dir, err)
		}
		for _, file := range files {
			t.Run(file+" translates to its golden specs and report", func(t *testing.T) {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				got := render(t, f.translate([]Input{{File: file, Data: data}}, Options{}))
				golden := strings.TrimSuffix(file, ".yaml") + ".golden"
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./slo/translate/ -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("translation differs from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
				}
			})
		}
	}
}

// TestImportedSpecsLoadBack writes every translated service as
// slogate import does and loads the files with slogate's own loader.
func TestImportedSpecsLoadBack(t *testing.T) {
	for _, f := range formats {
		files, _ := filepath.Glob(filepath.Join("testdata", f.dir, "*.yaml"))
		for _, file := range files {
			t.Run(file+" loads back", func(t *testing.T) {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				res := f.translate([]Input{{File: file, Data: data}}, Options{OwnerTeam: "default-team"})
				if len(res.Services) == 0 {
					t.Fatalf("nothing translated; report:\n%s", res.Report.Error())
				}
				dir := t.TempDir()
				var paths []string
				for _, s := range res.Services {
					out, err := Marshal(s)
					if err != nil {
						t.Fatal(err)
					}
					p := filepath.Join(dir, s.Spec.Name+".yaml")
					if err := os.WriteFile(p, out, 0o644); err != nil {
						t.Fatal(err)
					}
					paths = append(paths, p)
				}
				loaded, err := slo.LoadServices(paths)
				if err != nil {
					t.Fatalf("written specs do not load:\n%v", err)
				}
				for i, s := range loaded {
					want := res.Services[i].Spec
					if s.Name != want.Name || len(s.SLOs) != len(want.SLOs) {
						t.Errorf("loaded %s with %d SLOs, want %s with %d", s.Name, len(s.SLOs), want.Name, len(want.SLOs))
					}
				}
			})
		}
	}
}

func TestImportOfSupportedExamplesHasNoProblems(t *testing.T) {
	for _, file := range []string{"testdata/openslo/checkout.yaml", "testdata/openslo/search.yaml", "testdata/sloth/myservice.yaml", "testdata/sloth/home.yaml"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			translate := Sloth
			if strings.Contains(file, "openslo") {
				translate = OpenSLO
			}
			if res := translate([]Input{{File: file, Data: data}}, Options{}); res.Untranslatable() {
				t.Errorf("got problems, want none:\n%s", res.Report.Error())
			}
		})
	}
	for _, file := range []string{"testdata/openslo/unsupported.yaml", "testdata/sloth/unsupported.yaml"} {
		t.Run(file+" is untranslatable", func(t *testing.T) {
			data, _ := os.ReadFile(file)
			translate := Sloth
			if strings.Contains(file, "openslo") {
				translate = OpenSLO
			}
			if res := translate([]Input{{File: file, Data: data}}, Options{}); !res.Untranslatable() {
				t.Errorf("got no problems, want some; report:\n%s", res.Report.Error())
			}
		})
	}
}

func TestImportOfOpenSLOObjectsSpreadOverFiles(t *testing.T) {
	inputs := []Input{
		{File: "slo.yaml", Data: []byte(`apiVersion: openslo/v1
kind: SLO
metadata: {name: availability}
spec:
  service: shop
  indicatorRef: shop-requests
  budgetingMethod: Occurrences
  timeWindow: [{duration: 28d, isRolling: true}]
  objectives: [{target: 0.999}]
`)},
		{File: "sli.yaml", Data: []byte(`apiVersion: openslo/v1
kind: SLI
metadata: {name: shop-requests}
spec:
  ratioMetric:
    counter: true
    good: {metricSource: {metricSourceRef: thanos, spec: {query: 'shop_requests_total{code!~"5.."}'}}}
    total: {metricSource: {metricSourceRef: thanos, spec: {query: shop_requests_total}}}
`)},
		{File: "service.yaml", Data: []byte(`apiVersion: openslo/v1
kind: Service
metadata: {name: shop, labels: {owner: web}}
spec: {description: The shop.}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: thanos}
spec: {type: Prometheus, connectionDetails: {url: "http://thanos:9090"}}
`)},
	}
	res := OpenSLO(inputs, Options{})
	if res.Untranslatable() || len(res.Services) != 1 {
		t.Fatalf("got %d services and report\n%s\nwant one service and no problems", len(res.Services), res.Report.Error())
	}
	s := res.Services[0].Spec
	o := s.SLOs[0]
	if s.Owner.Team != "web" || s.Description != "The shop." || o.SLI.Source != "thanos" ||
		o.SLI.Ratio == nil || o.SLI.Ratio.Good != `shop_requests_total{code!~"5.."}` || o.Objective != 99.9 {
		t.Errorf("got %+v with SLO %+v and SLI %+v", s, o, o.SLI.Ratio)
	}
	if got := res.Services[0].Origins; len(got) != 1 || got[0] != "slo.yaml:9" {
		t.Errorf("got origins %v, want [slo.yaml:9]", got)
	}
	// The report goes file by file in the order given.
	if len(res.Report) != 1 || res.Report[0].File != "service.yaml" || !strings.Contains(res.Report[0].Message, "sources.prometheus with url http://thanos:9090") {
		t.Errorf("got report\n%s\nwant the one warning about the DataSource's connection details", res.Report.Error())
	}
}

func TestImportOwnerTeamIsTheDefault(t *testing.T) {
	spec := []byte(`version: prometheus/v1
service: shop
slos:
  - name: availability
    objective: 99.9
    sli: {events: {error_query: 'sum(rate(x_total{code="500"}[{{.window}}]))', total_query: 'sum(rate(x_total[{{.window}}]))'}}
    alerting: {name: A}
`)
	tests := []struct {
		name, labels, owner, want string
	}{
		{"a service without a team gets the default", "", "platform", "platform"},
		{"a service's owner label wins over the default", "labels: {owner: web}\n", "platform", "web"},
		{"a service's team label names its owner", "labels: {team: web}\n", "", "web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := bytes.Replace(spec, []byte("slos:"), []byte(tt.labels+"slos:"), 1)
			res := Sloth([]Input{{File: "shop.yaml", Data: data}}, Options{OwnerTeam: tt.owner})
			if len(res.Services) != 1 {
				t.Fatalf("got no service; report:\n%s", res.Report.Error())
			}
			if got := res.Services[0].Spec.Owner.Team; got != tt.want {
				t.Errorf("got team %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("a service without any team is reported and left out", func(t *testing.T) {
		res := Sloth([]Input{{File: "shop.yaml", Data: spec}}, Options{})
		if len(res.Services) != 0 || !res.Untranslatable() || !strings.Contains(res.Report.Error(), `shop.yaml:2: cannot translate: service "shop" has no owner team`) {
			t.Errorf("got %d services and report\n%s", len(res.Services), res.Report.Error())
		}
	})
}

func TestImportReportsSyntaxErrorsWithTheirLine(t *testing.T) {
	for _, f := range formats {
		res := f.translate([]Input{{File: "bad.yaml", Data: []byte("a: 1\nb: [\n")}}, Options{})
		if len(res.Report) != 1 || res.Report[0].Line == 0 || !strings.HasPrefix(res.Report[0].String(), "bad.yaml:") || !strings.Contains(res.Report[0].Message, "cannot parse YAML") {
			t.Errorf("%s: got report %q, want one syntax error with a line", f.dir, res.Report.Error())
		}
	}
}

func TestImportReportNeverShowsConnectionSecrets(t *testing.T) {
	data, err := os.ReadFile("testdata/openslo/unsupported.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if res := OpenSLO([]Input{{File: "x.yaml", Data: data}}, Options{}); strings.Contains(res.Report.Error(), "never-shown") {
		t.Errorf("the report shows a DataSource's apiKey:\n%s", res.Report.Error())
	}
}

func TestImportReportsEmptyRequiredFields(t *testing.T) {
	tests := []struct {
		name      string
		translate func([]Input, Options) Result
		data      string
		want      []string
	}{
		{"a Sloth spec without SLOs", Sloth, "version: prometheus/v1\nservice: x\nslos: []\n",
			[]string{"a.yaml:3: slos: cannot translate: required: at least one SLO"}},
		{"an OpenSLO SLO with empty fields", OpenSLO,
			"apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  service: s\n  budgetingMethod: ''\n  timeWindow: []\n  objectives: []\n  indicatorRef: x\n",
			[]string{
				"a.yaml:6: spec.budgetingMethod: cannot translate: required: Occurrences or Timeslices",
				"a.yaml:7: spec.timeWindow: cannot translate: required: slogate SLOs need a window",
				"a.yaml:8: spec.objectives: cannot translate: required: at least one objective",
				`a.yaml:9: spec.indicatorRef: cannot translate: no SLI named "x" among the inputs`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is reported", func(t *testing.T) {
			res := tt.translate([]Input{{File: "a.yaml", Data: []byte(tt.data)}}, Options{OwnerTeam: "t"})
			got := res.Report.Error()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("report lacks %q:\n%s", w, got)
				}
			}
			if len(res.Services) != 0 {
				t.Errorf("got %d services, want none", len(res.Services))
			}
		})
	}
}
