package main

// Browser test of the service page's spec section (ui/CONTRACT.md: #spec,
// #spec-history): where a spec comes from, and its changes with their
// diffs, made by the file watcher and through the spec API.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/slogate/slogate/cmd/slogate/demo"
	gateapi "github.com/slogate/slogate/gate/api"
)

// shownChange is one [data-change-id] of #spec-history as the page shows
// it.
type shownChange struct {
	ID      int64
	Action  string
	Text    string
	Added   []string
	Removed []string
	Hunks   int
	Files   int
	Notes   []string
}

// shownChangesJS reads #spec-history's changes in document order.
const shownChangesJS = `[...document.querySelectorAll("#spec-history [data-change-id]")].map(e => {
	const texts = (sel) => [...e.querySelectorAll(sel)].map(s => s.textContent);
	return {
		id: Number(e.dataset.changeId),
		action: (e.querySelector(".change-action") || {textContent: "<missing>"}).textContent.trim(),
		text: e.querySelector(".change-head") ? e.querySelector(".change-head").textContent.replace(/\s+/g, " ").trim() : "<missing>",
		added: texts("pre.diff .diff-add"),
		removed: texts("pre.diff .diff-del"),
		hunks: e.querySelectorAll("pre.diff .diff-hunk").length,
		files: e.querySelectorAll("pre.diff .diff-file").length,
		notes: texts(".change-note"),
	};
})`

func (b *browser) shownChanges() []shownChange {
	b.t.Helper()
	var cs []shownChange
	b.eval(shownChangesJS, &cs)
	return cs
}

// replaceInFile replaces from with to in the file at path, failing when
// from is not in it.
func replaceInFile(t *testing.T, path, from, to string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), from) {
		t.Fatalf("%s lacks %q", path, from)
	}
	writeFile(t, path, strings.Replace(string(b), from, to, 1))
}

// hasLine reports whether one of lines, without its +/- and indentation,
// is text.
func hasLine(lines []string, text string) bool {
	for _, l := range lines {
		if len(l) > 0 && strings.TrimSpace(l[1:]) == text {
			return true
		}
	}
	return false
}

func TestBrowserShowsTheSpecAndItsChanges(t *testing.T) {
	findBrowser(t)
	const specToken = "spec-token"
	ctx, cancel := context.WithCancel(context.Background())
	d, err := demo.Start(ctx, demo.Config{Listen: "127.0.0.1:0", RequestsPerSecond: 50, Seed: 5})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	files := setupFiles(d.Addr())
	files["slogate.yaml"] += fmt.Sprintf("auth:\n  tokens:\n    - {name: team-payments, sha256: %s, scopes: [spec:write]}\n",
		gateapi.HashToken(specToken))
	dir := writeFiles(t, files)
	base, done := startServeWith(t, ctx, serveOptions{config: filepath.Join(dir, "slogate.yaml"), watch: 100 * time.Millisecond})
	defer stopServe(t, cancel, done)

	// Two file changes: export's objective, and shop's availability SLI,
	// which starts that SLO's budget over and says so in a note.
	spec := filepath.Join(dir, "specs", "export.yaml")
	replaceInFile(t, spec, "objective: 95", "objective: 80")
	replaceInFile(t, filepath.Join(dir, "specs", "shop.yaml"), `code!~"5.."`, `code!~"4..|5.."`)
	waitFor(t, 10*time.Second, "the watcher's changes in the spec histories", func() bool {
		return len(specHistory(t, base, "export").Changes) == 2 && len(specHistory(t, base, "shop").Changes) == 2
	})

	t.Run("a file's spec shows its file and both changes, newest first, with the diff", func(t *testing.T) {
		b := newBrowser(t)
		b.open(base+"/services/export", "service")
		if got := b.text("#spec-source"); !strings.Contains(got, "From file") || !strings.Contains(got, spec) {
			t.Errorf("#spec-source says %q, want it from file %s", got, spec)
		}
		var yaml string
		b.eval(`(document.querySelector("#spec details.spec-yaml pre") || {textContent: "<missing>"}).textContent`, &yaml)
		if !strings.Contains(yaml, "objective: 80") {
			t.Errorf("the spec shown is %q, want the running one with objective 80", yaml)
		}
		cs := b.shownChanges()
		if len(cs) != 2 {
			t.Fatalf("#spec-history shows %+v, want 2 changes", cs)
		}
		if cs[0].ID <= cs[1].ID || cs[0].Action != "changed" || cs[1].Action != "created" {
			t.Errorf("#spec-history shows %+v, want the change (higher id) above the creation", cs)
		}
		if !hasLine(cs[0].Removed, "objective: 95") || !hasLine(cs[0].Added, "objective: 80") {
			t.Errorf("the change's diff removes %q and adds %q, want objective: 95 removed and objective: 80 added",
				cs[0].Removed, cs[0].Added)
		}
		if cs[0].Hunks == 0 || cs[0].Files != 2 {
			t.Errorf("the change's diff has %d .diff-hunk and %d .diff-file lines, want some and 2", cs[0].Hunks, cs[0].Files)
		}
		for _, want := range []string{"by file watcher", "via file watch", "file " + spec} {
			if !strings.Contains(cs[0].Text, want) {
				t.Errorf("the change says %q, want %q in it", cs[0].Text, want)
			}
		}
		if n := b.count("#spec-history-more:not([hidden])"); n != 0 {
			t.Error("#spec-history-more is shown for 2 changes")
		}
		b.eval(`document.querySelectorAll("#spec details").forEach(d => d.open = true)`, nil)
		b.screenshot("spec-dark")
		b.do("click #theme-toggle", chromedp.Click(chromedp.CSS("#theme-toggle"), chromedp.NodeVisible))
		b.screenshot("spec-light")
		b.checkConsole("on /services/export")
	})

	t.Run("a changed SLI's note is shown with its change", func(t *testing.T) {
		b := newBrowser(t)
		b.open(base+"/services/shop", "service")
		cs := b.shownChanges()
		if len(cs) != 2 || len(cs[0].Notes) != 1 || !strings.Contains(cs[0].Notes[0], "availability: the SLI changed, so its budget starts a new history") {
			t.Fatalf("#spec-history shows %+v, want the newest change with a .change-note on availability's new history", cs)
		}
		if len(cs[1].Notes) != 0 {
			t.Errorf("the creation shows notes %q, want none", cs[1].Notes)
		}
		b.screenshot("spec-note")
		b.checkConsole("on /services/shop")
	})

	t.Run("an API spec shows who changed it and pages back through its changes", func(t *testing.T) {
		// A creation and 20 changes: one more than the first page shows.
		for i := range 21 {
			body := strings.Replace(checkoutSpec, "objective: 99", fmt.Sprintf("objective: %d", 70+i), 1)
			if code, answer := apiRequest(t, http.MethodPut, base+"/api/v1/specs/checkout", specToken, "application/yaml", body); code != http.StatusOK && code != http.StatusCreated {
				t.Fatalf("PUT %d: got %d %v", i, code, answer)
			}
		}
		b := newBrowser(t)
		b.open(base+"/services/checkout", "service")
		if got := b.text("#spec-source"); !strings.Contains(got, "From the API, last changed by team-payments") {
			t.Errorf("#spec-source says %q, want it from the API, last changed by team-payments", got)
		}
		cs := b.shownChanges()
		if len(cs) != 20 {
			t.Fatalf("#spec-history shows %d changes, want the first 20 of 21", len(cs))
		}
		if !strings.Contains(cs[0].Text, "via spec API") || !strings.Contains(cs[0].Text, "from 127.0.0.1") ||
			!hasLine(cs[0].Removed, "objective: 89") || !hasLine(cs[0].Added, "objective: 90") {
			t.Errorf("the newest change is %+v, want objective 89 to 90 through the spec API from 127.0.0.1", cs[0])
		}
		before := b.renders()
		b.do("click #spec-history-more", chromedp.Click(chromedp.CSS("#spec-history-more"), chromedp.NodeVisible))
		b.waitRerender("service", before)
		cs = b.shownChanges()
		if len(cs) != 21 || cs[20].Action != "created" || cs[20].ID >= cs[19].ID {
			t.Fatalf("after Show older #spec-history has %d changes ending with %+v, want 21 ending with the creation", len(cs), cs[len(cs)-1])
		}
		if n := b.count("#spec-history-more:not([hidden])"); n != 0 {
			t.Error("#spec-history-more is still shown with every change listed")
		}
		b.checkConsole("on /services/checkout")
	})

	t.Run("the spec section fits a phone", func(t *testing.T) {
		b := newBrowser(t)
		b.do("emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		b.open(base+"/services/export", "service")
		b.eval(`document.querySelectorAll("#spec details").forEach(d => d.open = true)`, nil)
		var widths struct{ Scroll, Inner int }
		b.eval(`({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})`, &widths)
		if widths.Scroll > widths.Inner+1 {
			t.Errorf("the service page is %d px wide on a %d px screen with the spec open: it scrolls sideways", widths.Scroll, widths.Inner)
		}
		b.do("scroll to #spec", chromedp.ScrollIntoView(chromedp.CSS("#spec")))
		b.screenshotViewport("phone-spec")
	})

	t.Run("an unknown service asks for no spec", func(t *testing.T) {
		b := newBrowser(t)
		b.allow(func(m chromedp.ConsoleMessage) bool {
			return m.Source == "network" && strings.Contains(m.Text, "404") && strings.Contains(m.URL, "/api/v1/")
		})
		b.open(base+"/services/nothing", "service")
		var hidden bool
		b.eval(`document.querySelector("#spec").hidden`, &hidden)
		if !hidden {
			t.Error("#spec is shown for an unknown service")
		}
		var asked []string
		b.eval(`performance.getEntriesByType("resource").map(e => e.name).filter(n => n.includes("/api/v1/specs/"))`, &asked)
		if len(asked) > 0 {
			t.Errorf("the page asked for %q for an unknown service, want no spec request", asked)
		}
	})
}
