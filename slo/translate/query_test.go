package translate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/slogate/slogate/slo"
)

func TestImportQueriesReduceToCounters(t *testing.T) {
	tests := []struct {
		name, query, want, wantErr string
	}{
		{"a Sloth rate of a counter is the counter", `sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))`, `http_requests_total{code=~"5.."}`, ""},
		{"Sloth's window may be written with spaces", `sum(increase(jobs_total[{{ .window }}]))`, `jobs_total`, ""},
		{"a plain selector is the counter", `up_total{job="a",instance!="b"}`, `up_total{job="a",instance!="b"}`, ""},
		{"a sum of a counter is the counter", `sum(payments_total)`, `payments_total`, ""},
		{"or vector(0) is dropped", `sum(rate(errors_total[5m])) or vector(0)`, `errors_total`, ""},
		{"the metric may be written as __name__", `{__name__="errors_total",job="a"}`, `errors_total{job="a"}`, ""},
		{"sum by is refused", `sum by (code) (rate(x_total[5m]))`, "", "sum by (code): slogate sums across all series"},
		{"sum without is refused", `sum without (pod) (rate(x_total[5m]))`, "", "sum without (pod)"},
		{"other aggregations are refused", `max(rate(x_total[5m]))`, "", "max(): slogate sums"},
		{"irate is refused", `sum(irate(x_total[5m]))`, "", "irate(): slogate counts the increases of counters"},
		{"arithmetic names the metrics it combines", `sum(rate(a_total[5m])) + sum(rate(b_total[5m]))`, "", "arithmetic (+) over several metrics (a_total, b_total)"},
		{"a metric regexp is refused", `sum(rate({__name__=~"a_total|b_total"}[5m]))`, "", `selecting metrics by __name__=~"a_total|b_total"`},
		{"offset is refused", `sum(rate(x_total[5m] offset 1h))`, "", "offset and @"},
		{"a number is refused", `1`, "", "a number is not a counter"},
		{"a subquery is refused", `rate(x_total[5m])[1h:1m]`, "", "a subquery: slogate reads"},
		{"rate of a subquery is refused", `sum(rate(sum(x_total)[1h:1m]))`, "", "rate() of a subquery"},
		{"other templates are refused", `sum(rate(x_total{env="{{.env}}"}[{{.window}}]))`, "", "templates other than {{.window}}"},
		{"a parse error is reported", `sum(rate(x_total[5m]`, "", "not PromQL: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := parseQuery(tt.query)
			var s selector
			if err == nil {
				s, err = counterOf(e)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got error %v, want %s", err, tt.want)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %s, %v; want an error containing %q", s, err, tt.wantErr)
			case tt.wantErr == "" && s.String() != tt.want:
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
}

func TestImportSLIsFromCounters(t *testing.T) {
	sel := func(q string) *selector {
		t.Helper()
		e, err := parseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		s, err := counterOf(e)
		if err != nil {
			t.Fatal(err)
		}
		return &s
	}
	tests := []struct {
		name        string
		good, bad   string
		total, want string
	}{
		{"bad with one more regexp matcher becomes good with it negated",
			"", `x_total{job="a",code=~"5.."}`, `x_total{job="a"}`, `good: x_total{job="a",code!~"5.."} total: x_total{job="a"}`},
		{"bad with one more equality becomes good with an inequality",
			"", `x_total{code="500"}`, `x_total`, `good: x_total{code!="500"} total: x_total`},
		{"bad with one more inequality becomes good with an equality",
			"", `rpc_total{grpc_code!="OK"}`, `rpc_total`, `good: rpc_total{grpc_code="OK"} total: rpc_total`},
		{"bad of another metric stays bad",
			"", `errors_total{job="a"}`, `requests_total{job="a"}`, `bad: errors_total{job="a"} total: requests_total{job="a"}`},
		{"bad with two more matchers stays bad",
			"", `x_total{code="500",method="GET"}`, `x_total`, `bad: x_total{code="500",method="GET"} total: x_total`},
		{"bad narrowing a label total also matches stays bad",
			"", `x_total{code=~"5.."}`, `x_total{code=~".+"}`, `bad: x_total{code=~"5.."} total: x_total{code=~".+"}`},
		{"good of a histogram bucket over its count is a latency SLI",
			`h_bucket{le="0.3",job="a"}`, "", `h_count{job="a"}`, `latency: h {job="a"} 0.3`},
		{"good of a bucket with other matchers than the count stays a ratio",
			`h_bucket{le="0.3",job="a"}`, "", `h_count{job="b"}`, `good: h_bucket{le="0.3",job="a"} total: h_count{job="b"}`},
		{"good of the +Inf bucket stays a ratio",
			`h_bucket{le="+Inf"}`, "", `h_count`, `good: h_bucket{le="+Inf"} total: h_count`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var good, bad *selector
			if tt.good != "" {
				good = sel(tt.good)
			}
			if tt.bad != "" {
				bad = sel(tt.bad)
			}
			s := sliOf(good, bad, *sel(tt.total))
			var got string
			switch {
			case s.Latency != nil:
				got = "latency: " + s.Latency.Metric + " " + s.Latency.Selector + " " + fmtFloat(s.Latency.Threshold)
			case s.Ratio.Good != "":
				got = "good: " + s.Ratio.Good + " total: " + s.Ratio.Total
			default:
				got = "bad: " + s.Ratio.Bad + " total: " + s.Ratio.Total
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestImportRecognisesHistogramQuantiles(t *testing.T) {
	tests := []struct {
		query string
		ok    bool
	}{
		{`histogram_quantile(0.95, sum by (le) (rate(h_bucket{job="a"}[5m])))`, true},
		{`histogram_quantile(0.99, sum(rate(h_bucket[5m])) by (le))`, true},
		{`histogram_quantile(0.99, sum by (le, job) (rate(h_bucket[5m])))`, false},
		{`histogram_quantile(0.99, sum by (le) (rate(h_count[5m])))`, false},
		{`histogram_quantile(0.99, sum by (le) (rate(h_bucket{le="1"}[5m])))`, false},
		{`histogram_quantile(1, sum by (le) (rate(h_bucket[5m])))`, false},
		{`avg(h_seconds)`, false},
	}
	for _, tt := range tests {
		e, err := parseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := quantileOf(e); ok != tt.ok {
			t.Errorf("quantileOf(%s) = %v, want %v", tt.query, ok, tt.ok)
		}
	}
}

func TestImportNamesAreSlugs(t *testing.T) {
	for in, want := range map[string]string{
		"checkout":              "checkout",
		"Payments API":          "payments-api",
		"k8s_apiserver":         "k8s_apiserver",
		"--a..b--":              "a-b",
		"Nearly every minute!":  "nearly-every-minute",
		"___":                   "",
		"requests-availability": "requests-availability",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// fuzzTranslation checks what every translation promises: it never
// panics, and every service it returns renders to a spec that validates.
func fuzzTranslation(f *testing.F, dir string, translate func([]Input, Options) Result) {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res := translate([]Input{{File: "fuzz.yaml", Data: data}}, Options{OwnerTeam: "team"})
		for _, s := range res.Services {
			out, err := Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var back slo.Service
			if err := yaml.Unmarshal(out, &back); err != nil {
				t.Fatalf("rendered spec does not parse: %v\n%s", err, out)
			}
			if err := slo.ValidateService(&back); err != nil {
				t.Fatalf("rendered spec does not validate: %v\n%s", err, out)
			}
		}
	})
}

func FuzzImportOpenSLO(f *testing.F) { fuzzTranslation(f, "openslo", OpenSLO) }

func FuzzImportSloth(f *testing.F) { fuzzTranslation(f, "sloth", Sloth) }
