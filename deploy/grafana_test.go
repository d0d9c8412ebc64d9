package deploy

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

type grafanaDatasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaPanel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource *grafanaDatasourceRef    `json:"datasource"`
	GridPos    struct{ H, W, X, Y int } `json:"gridPos"`
	Targets    []struct {
		RefID      string                `json:"refId"`
		Expr       string                `json:"expr"`
		Datasource *grafanaDatasourceRef `json:"datasource"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // a collapsed row's
}

type grafanaDashboard struct {
	UID           string         `json:"uid"`
	Title         string         `json:"title"`
	SchemaVersion int            `json:"schemaVersion"`
	Panels        []grafanaPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string                `json:"name"`
			Type       string                `json:"type"`
			Query      json.RawMessage       `json:"query"`
			Definition string                `json:"definition"`
			Datasource *grafanaDatasourceRef `json:"datasource"`
			Multi      bool                  `json:"multi"`
			IncludeAll bool                  `json:"includeAll"`
			AllValue   string                `json:"allValue"`
		} `json:"list"`
	} `json:"templating"`
}

const dashboardPath = "grafana/dashboards/slogate.json"

func readDashboard(t *testing.T) grafanaDashboard {
	t.Helper()
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("parse %s: %v", dashboardPath, err)
	}
	return d
}

// grafanaVarRE matches $name, ${name} and ${name:format}.
var grafanaVarRE = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

// grafanaValues are what the variables stand for when a query is parsed:
// Grafana's own interval variables and the dashboard's, multi-value ones
// as regex alternatives the way Grafana expands them.
var grafanaValues = map[string]string{
	"__rate_interval": "1m", "__interval": "15s", "__range": "24h",
	"job": "slogate", "team": "(payments|data)", "service": "(checkout|search)", "slo": "(availability|latency)",
}

// substitute replaces Grafana variables in a query with sample values, or
// reports the first variable it does not know.
func substitute(q string) (string, string) { return substituteWith(q, grafanaValues) }

// substituteWith is substitute with the given values.
func substituteWith(q string, values map[string]string) (string, string) {
	unknown := ""
	out := grafanaVarRE.ReplaceAllStringFunc(q, func(s string) string {
		m := grafanaVarRE.FindStringSubmatch(s)
		name := m[1] + m[2]
		v, ok := values[name]
		if !ok && unknown == "" {
			unknown = name
		}
		return v
	})
	return out, unknown
}

// multiEqualRE finds a multi-value variable used with = or !=: with more
// than one value selected it expands to a regex and matches nothing.
var multiEqualRE = regexp.MustCompile(`\w+\s*!?=\s*"\$\{?(team|service|slo)\b`)

func TestGrafanaDashboard(t *testing.T) {
	d := readDashboard(t)
	if d.UID != "slogate" || d.Title == "" {
		t.Errorf("uid %q, title %q: want uid slogate and a title (the provisioned dashboard's URL is /d/slogate)", d.UID, d.Title)
	}
	if d.SchemaVersion < 39 {
		t.Errorf("schemaVersion %d: want 39 (Grafana 11) or later", d.SchemaVersion)
	}

	t.Run("has a Prometheus datasource variable and team, service and slo variables", func(t *testing.T) {
		vars := map[string]bool{}
		for _, v := range d.Templating.List {
			vars[v.Name] = true
			switch {
			case v.Name == "datasource":
				if v.Type != "datasource" || string(v.Query) != `"prometheus"` {
					t.Errorf("variable datasource: type %q query %s, want a datasource variable of type prometheus", v.Type, v.Query)
				}
			case v.Type == "query":
				if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
					t.Errorf("variable %s: datasource %+v, want uid ${datasource}", v.Name, v.Datasource)
				}
				if v.Multi && (!v.IncludeAll || v.AllValue != ".*") {
					t.Errorf("variable %s: multi-value without includeAll and allValue .*; \"All\" would expand to every value, a long regex", v.Name)
				}
			}
		}
		for _, want := range []string{"datasource", "job", "team", "service", "slo"} {
			if !vars[want] {
				t.Errorf("no variable %q", want)
			}
		}
	})

	t.Run("every variable query parses and names slogate's metrics", func(t *testing.T) {
		labelValuesRE := regexp.MustCompile(`^label_values\((.*),\s*(\w+)\)$`)
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			var q struct{ Query string }
			if err := json.Unmarshal(v.Query, &q); err != nil {
				t.Errorf("variable %s: query %s: %v", v.Name, v.Query, err)
				continue
			}
			if v.Definition != q.Query {
				t.Errorf("variable %s: definition %q differs from query %q; Grafana shows one and runs the other", v.Name, v.Definition, q.Query)
			}
			if m := multiEqualRE.FindString(q.Query); m != "" {
				t.Errorf("variable %s: %s: a multi-value variable needs =~", v.Name, m)
			}
			m := labelValuesRE.FindStringSubmatch(q.Query)
			if m == nil {
				t.Errorf("variable %s: query %q: want label_values(selector, label)", v.Name, q.Query)
				continue
			}
			sel, unknown := substitute(m[1])
			if unknown != "" {
				t.Errorf("variable %s: unknown variable $%s", v.Name, unknown)
			}
			// The label too must be one the metric has.
			if i := strings.LastIndex(sel, "}"); i >= 0 {
				sel = sel[:i] + `,` + m[2] + `!=""}`
			} else {
				sel += `{` + m[2] + `!=""}`
			}
			for _, p := range checkPromQL(sel) {
				t.Errorf("variable %s: %s", v.Name, p)
			}
		}
	})

	var panels []grafanaPanel
	for _, p := range d.Panels {
		panels = append(panels, p)
		panels = append(panels, p.Panels...)
	}

	t.Run("every query parses and uses only metrics and labels slogate emits", func(t *testing.T) {
		n := 0
		for _, p := range panels {
			for _, tg := range p.Targets {
				n++
				if m := multiEqualRE.FindString(tg.Expr); m != "" {
					t.Errorf("panel %q query %s: %s: a multi-value variable needs =~", p.Title, tg.RefID, m)
				}
				expr, unknown := substitute(tg.Expr)
				if unknown != "" {
					t.Errorf("panel %q query %s: unknown variable $%s", p.Title, tg.RefID, unknown)
				}
				for _, problem := range checkPromQL(expr) {
					t.Errorf("panel %q query %s: %s", p.Title, tg.RefID, problem)
				}
			}
		}
		if n < 20 {
			t.Errorf("%d queries: the dashboard looks empty", n)
		}
	})

	t.Run("every panel reads the datasource variable", func(t *testing.T) {
		for _, p := range panels {
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || *p.Datasource != (grafanaDatasourceRef{"prometheus", "${datasource}"}) {
				t.Errorf("panel %q: datasource %+v, want {prometheus ${datasource}}", p.Title, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
					t.Errorf("panel %q query %s: datasource %+v, want uid ${datasource}", p.Title, tg.RefID, tg.Datasource)
				}
				if tg.RefID == "" || refs[tg.RefID] {
					t.Errorf("panel %q: refId %q missing or repeated", p.Title, tg.RefID)
				}
				refs[tg.RefID] = true
			}
		}
	})

	t.Run("panels have unique ids and do not overlap", func(t *testing.T) {
		ids := map[int]string{}
		for i, p := range panels {
			if prev, ok := ids[p.ID]; ok || p.ID == 0 {
				t.Errorf("panel %q: id %d missing or also used by %q", p.Title, p.ID, prev)
			}
			ids[p.ID] = p.Title
			g := p.GridPos
			if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
				t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, g)
			}
			for _, q := range panels[:i] {
				h := q.GridPos
				if g.X < h.X+h.W && h.X < g.X+g.W && g.Y < h.Y+h.H && h.Y < g.Y+g.H {
					t.Errorf("panels %q %+v and %q %+v overlap", p.Title, g, q.Title, h)
				}
			}
		}
	})

	t.Run("it covers budgets, burn rates, the gate, alerts, notifications and sources", func(t *testing.T) {
		var all strings.Builder
		for _, p := range panels {
			for _, tg := range p.Targets {
				all.WriteString(tg.Expr + "\n")
			}
		}
		for _, m := range []string{
			"slogate_slo_error_budget_remaining_ratio", "slogate_slo_burn_rate", "slogate_slo_sli_ratio",
			"slogate_slo_objective_ratio", "slogate_slo_data_age_seconds", "slogate_alerts_firing",
			"slogate_notifications_sent_total", "slogate_notifications_failed_total", "slogate_notifications_pending",
			"slogate_scrape_up", "slogate_scrape_duration_seconds", "slogate_prom_query_errors_total",
			`handler=~"/api/v1/gate`, "/api/v1/hooks/flagger", "slogate_http_requests_total", "up{",
		} {
			if !strings.Contains(all.String(), m) {
				t.Errorf("no panel queries %s", m)
			}
		}
	})
}

func TestGrafanaProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, Type, URL, UID string
			IsDefault            bool `yaml:"isDefault"`
		}
	}
	readYAML(t, "grafana/provisioning/datasources/prometheus.yaml", &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" {
		t.Errorf("datasources: %+v, want apiVersion 1 and one prometheus datasource", ds)
	}

	var dp struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name, Type, Folder string
			Options            struct{ Path string }
		}
	}
	readYAML(t, "grafana/provisioning/dashboards/slogate.yaml", &dp)
	if dp.APIVersion != 1 || len(dp.Providers) != 1 || dp.Providers[0].Type != "file" {
		t.Fatalf("dashboard providers: %+v, want apiVersion 1 and one file provider", dp)
	}

	// The compose stack mounts the provisioning and the dashboards where
	// these files say.
	c := readCompose(t)
	g, ok := c.Services["grafana"]
	if !ok {
		t.Fatal("compose.yaml has no grafana service")
	}
	mounts := map[string]string{}
	for _, v := range g.Volumes {
		src, dst, _ := splitVolume(v)
		mounts[src] = dst
	}
	if got := mounts["../grafana/dashboards"]; got != dp.Providers[0].Options.Path {
		t.Errorf("compose mounts ../grafana/dashboards at %q, the provider reads %q", got, dp.Providers[0].Options.Path)
	}
	if got := mounts["../grafana/provisioning"]; got != "/etc/grafana/provisioning" {
		t.Errorf("compose mounts ../grafana/provisioning at %q, want /etc/grafana/provisioning", got)
	}
	if want := "http://prometheus:9090"; ds.Datasources[0].URL != want {
		t.Errorf("datasource url %q, want %q, the compose stack's prometheus service", ds.Datasources[0].URL, want)
	}
	if _, ok := c.Services["prometheus"]; !ok {
		t.Error("compose.yaml has no prometheus service for the datasource")
	}
}
