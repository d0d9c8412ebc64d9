package main

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"

	"github.com/slogate/slogate/budget/monitor"
	gateapi "github.com/slogate/slogate/gate/api"
	"github.com/slogate/slogate/slo"
	"github.com/slogate/slogate/slo/source"
	"github.com/slogate/slogate/slo/specstore"
)

// renderSpec is a service's spec as slogate runs it, defaults filled in,
// in YAML, leaving out the fields that are unset (null or "").
func renderSpec(svc *slo.Service) (string, error) {
	var doc yaml.Node
	if err := doc.Encode(svc); err != nil {
		return "", fmt.Errorf("render spec %s: %w", svc.Name, err)
	}
	pruneUnset(&doc)
	b, err := yaml.Marshal(&doc)
	if err != nil {
		return "", fmt.Errorf("render spec %s: %w", svc.Name, err)
	}
	return string(b), nil
}

// pruneUnset removes the keys of n's mappings, at any depth, whose value
// is null or an empty string. Empty lists stay: `rules: []` means
// something.
func pruneUnset(n *yaml.Node) {
	if n.Kind == yaml.MappingNode {
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			v := n.Content[i+1]
			if v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || v.Tag == "!!str" && v.Value == "") {
				continue
			}
			kept = append(kept, n.Content[i], v)
		}
		n.Content = kept
	}
	for _, c := range n.Content {
		pruneUnset(c)
	}
}

// specSource is where a running service's spec comes from: "api" or
// "file".
func specSource(svc *slo.Service) string {
	if strings.HasPrefix(svc.File, apiFilePrefix) {
		return "api"
	}
	return "file"
}

// apiOrigin is who changes specs through the API request c.
func apiOrigin(c echo.Context) specstore.Origin {
	return specstore.Origin{By: gateapi.Actor(c), Via: "api", Remote: remoteHost(c)}
}

// remoteHost is the request's client address without its port.
// X-Forwarded-For is not trusted: anyone can send it.
func remoteHost(c echo.Context) string {
	addr := c.Request().RemoteAddr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// startNewHistories records the fingerprint of every SLO's SLI in the
// store. An SLO whose SLI changed since its history was counted starts a
// new one, and a PromQL source backfills it. It returns notes saying so,
// by service name, and logs them; and the SLOs that start anew, by key.
func (p *process) startNewHistories(cat *slo.Catalog) (notes map[string][]string, fresh map[string]bool, err error) {
	slis := map[string]string{}
	drop := map[string][]string{}
	for _, svc := range cat.Services {
		for _, o := range svc.SLOs {
			key := monitor.Key(svc.Name, o.Name)
			slis[key] = o.SLI.Fingerprint()
			if o.SLI.Push == nil && o.SLI.Source != "" {
				drop[key] = []string{source.PromCheckpointKey(o.SLI.Source, svc.Name, o.Name)}
			}
		}
	}
	now := p.now()
	changed, err := p.st.SetSLIs(p.ctx, slis, func(key string) []string { return drop[key] }, now)
	if err != nil {
		return nil, nil, err
	}
	notes, fresh = map[string][]string{}, map[string]bool{}
	for _, nh := range changed {
		fresh[nh.SLO] = true
		service, name, _ := strings.Cut(nh.SLO, "/")
		note := fmt.Sprintf("%s: the SLI changed, so its budget starts a new history at %s (the old one is kept as %q until it ages out)",
			name, now.UTC().Format(time.RFC3339), nh.ArchivedAs)
		if len(drop[nh.SLO]) > 0 {
			note += "; its Prometheus source backfills the new SLI"
		}
		notes[service] = append(notes[service], note)
		p.log.Warn("SLI changed: the SLO's budget starts a new history", "service", service, "slo", name,
			"archived_as", nh.ArchivedAs)
	}
	for _, ns := range notes {
		slices.Sort(ns)
	}
	return notes, fresh, nil
}

// recordSpecHistory records, as asked by o, how the specs cat runs differ
// from the last recorded ones, with notes by service. The configuration is
// applied by then, so a failure is logged rather than returned.
func (p *process) recordSpecHistory(cat *slo.Catalog, o specstore.Origin, notes map[string][]string) {
	versions := make([]specstore.Version, 0, len(cat.Services))
	for _, svc := range cat.Services {
		text, err := renderSpec(svc)
		if err != nil {
			p.log.Error("spec history not recorded", "err", err)
			return
		}
		versions = append(versions, specstore.Version{Service: svc.Name, Spec: text, Source: specSource(svc),
			File: svc.File, Notes: notes[svc.Name]})
	}
	o.At = p.now()
	changes, err := p.specs.Record(context.WithoutCancel(p.ctx), versions, o)
	if err != nil {
		p.log.Error("spec history not recorded", "err", err)
		return
	}
	for _, c := range changes {
		p.log.Info("spec change recorded", "service", c.Service, "action", c.Action, "file", c.File, "by", c.By, "via", c.Via)
	}
}

// changeNotices says what applying svc in place of the running service
// old does beyond its diff: SLOs whose budget is recomputed, start a new
// history, or stop. old may be nil.
func changeNotices(old, svc *slo.Service) []string {
	if old == nil {
		return nil
	}
	var out []string
	if old.Owner.Team != svc.Owner.Team {
		out = append(out, fmt.Sprintf("the owner changes from team %s to team %s: is this the service you mean?", old.Owner.Team, svc.Owner.Team))
	}
	running := map[string]slo.SLO{}
	for _, o := range old.SLOs {
		running[o.Name] = o
	}
	for _, o := range svc.SLOs {
		prev, ok := running[o.Name]
		delete(running, o.Name)
		switch {
		case !ok:
		case prev.SLI.Fingerprint() != o.SLI.Fingerprint():
			out = append(out, o.Name+": the SLI changes, so its budget starts a new history when this is applied")
		case prev.Objective != o.Objective || prev.Window != o.Window || prev.Schedule != o.Schedule || prev.Budgeting != o.Budgeting:
			out = append(out, o.Name+": its budget is recomputed from the stored history at once")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(running)) {
		out = append(out, name+": removed; it stops, and its history is kept for the retention in case it comes back")
	}
	return out
}

// specHistory handles GET /api/v1/specs/{service}/history: the service's
// applied changes, newest first; ?limit= (default 50, at most 1000) and
// ?before=ID page through them.
func (p *process) specHistory(c echo.Context, cat *slo.Catalog) error {
	name := c.Param("service")
	limit, before := 50, int64(0)
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("limit: want a whole number from 1 to 1000, got %q", v))
		}
		limit = n
	}
	if v := c.QueryParam("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("before: want a change id, got %q", v))
		}
		before = n
	}
	changes, err := p.specs.History(c.Request().Context(), name, limit, before)
	if err != nil {
		return err
	}
	if len(changes) == 0 && before == 0 && findService(cat, name) == nil {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("service %q: not found, and no spec history", name))
	}
	if changes == nil {
		changes = []specstore.Change{}
	}
	return c.JSON(http.StatusOK, map[string]any{"service": name, "changes": changes})
}
