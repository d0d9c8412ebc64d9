package main

// The browser harness: a headless Chromium per test, driven with chromedp,
// that fails the test on any console error or uncaught exception, waits on
// the UI's DOM contract (ui/CONTRACT.md) and writes screenshots.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/slogate/slogate/internal/realtest"
)

// actionTimeout bounds one browser action (a navigation, a click, a wait
// for a render); generous because CI runs the server under -race.
const actionTimeout = 20 * time.Second

// findBrowser returns the path of a Chromium-like browser. Without one the
// test is skipped, except in CI, where a missing component is a failure.
func findBrowser(t *testing.T) string {
	t.Helper()
	return realtest.Binary(t, "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
}

// screenshotDir is where screenshots go: $SLOGATE_SCREENSHOTS, or
// .test-output/screenshots at the repository root (gitignored).
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SLOGATE_SCREENSHOTS")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		root := wd
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(root)
			if parent == root {
				t.Fatalf("cannot find go.mod above %s", wd)
			}
			root = parent
		}
		dir = filepath.Join(root, ".test-output", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("create screenshot dir: %v", err)
	}
	return dir
}

// browser is one headless Chromium with one tab, owned by one test.
type browser struct {
	t      *testing.T
	ctx    context.Context
	shots  string
	output *lockedBuffer // the browser's own stdout and stderr

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	checked int                                  // console messages already judged
	allowed []func(chromedp.ConsoleMessage) bool // expected errors
}

// lockedBuffer is a bytes.Buffer safe for the browser process's writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newBrowser starts a headless browser for t; it is closed, and its
// console judged, when t ends.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := findBrowser(t)
	b := &browser{t: t, shots: screenshotDir(t), output: &lockedBuffer{}}
	// Drop this test's screenshots of an earlier run, so that the folder
	// shows this run only.
	old, _ := filepath.Glob(filepath.Join(b.shots, b.shotPrefix()+"*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("force-device-scale-factor", "1"),
		// This machine's network is closed: keep Chromium from trying.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-pings", true),
		chromedp.CombinedOutput(b.output),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	b.ctx = ctx
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser with no deadline (a deadline on the first action
	// would be the browser's lifetime), but bounded all the same.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start %s: %v\n%s", exe, err, b.output.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start within 30s\n%s", exe, b.output.String())
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		// Let messages in flight arrive, then judge those not yet judged.
		if b.ctx.Err() == nil {
			_, _ = b.tryEval("1")
			time.Sleep(100 * time.Millisecond)
		}
		b.checkConsole("at the end of the test")
	})
	return b
}

// allow marks console errors matching ok as expected for the rest of the
// test, e.g. the 401 a wrong token is meant to get.
func (b *browser) allow(ok func(chromedp.ConsoleMessage) bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.allowed = append(b.allowed, ok)
}

// checkConsole fails the test for each console error or uncaught exception
// since the last check, and logs warnings. where says what was going on.
func (b *browser) checkConsole(where string) {
	b.t.Helper()
	b.mu.Lock()
	msgs := b.console[b.checked:]
	b.checked = len(b.console)
	allowed := b.allowed
	b.mu.Unlock()
next:
	for _, m := range msgs {
		switch m.Type {
		case chromedp.ConsoleError, chromedp.ConsoleException:
			for _, ok := range allowed {
				if ok(m) {
					b.t.Logf("expected console %s %s: %s", m.Type, where, describe(m))
					continue next
				}
			}
			b.t.Errorf("console %s %s: %s", m.Type, where, describe(m))
		case chromedp.ConsoleWarning:
			b.t.Logf("console warning %s: %s", where, describe(m))
		}
	}
}

// describe renders a console message with where it came from.
func describe(m chromedp.ConsoleMessage) string {
	s := m.Text
	if m.Exception != nil && m.Exception.Exception != nil && m.Exception.Exception.Description != "" {
		s = m.Exception.Exception.Description
	}
	if m.URL != "" {
		s += fmt.Sprintf(" (%s:%d:%d)", m.URL, m.Line+1, m.Column+1)
	}
	if m.Source != "" {
		s += " [" + m.Source + "]"
	}
	return s
}

// do runs actions within actionTimeout and fails the test, saying what
// it was doing, on an error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// tryEval evaluates a JavaScript expression within actionTimeout and
// returns its JSON value.
func (b *browser) tryEval(expr string) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
	return json.RawMessage(raw), err
}

// eval evaluates expr and decodes its value into v (if v is not nil).
func (b *browser) eval(expr string, v any) {
	b.t.Helper()
	raw, err := b.tryEval(expr)
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", abbrev(expr), err)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			b.t.Fatalf("evaluate %s: %v in %s", abbrev(expr), err, raw)
		}
	}
}

func abbrev(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}

// js renders v as a JavaScript literal (JSON), for building expressions.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// waitUntil polls cond every 50ms until it holds, failing after timeout
// with the last observation cond returned.
func (b *browser) waitUntil(what string, timeout time.Duration, cond func() (bool, string)) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.checkConsole("while waiting for " + what)
			b.screenshot("timeout-" + what)
			b.t.Fatalf("timed out after %s waiting for %s; last saw %s", timeout, what, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pageState is what the DOM contract lets a test see of a page's state.
type pageState struct {
	Ready   string `json:"ready"`
	Renders *int   `json:"renders"`
	URL     string `json:"url"`
}

func (b *browser) state() pageState {
	b.t.Helper()
	var s pageState
	b.eval(`({ready: (document.body && document.body.dataset.ready) || "",
		renders: typeof window.slogateRenders === "number" ? window.slogateRenders : null,
		url: location.href})`, &s)
	return s
}

// open navigates to url and waits until the page says it is ready as
// page (document.body.dataset.ready) and has rendered at least once.
func (b *browser) open(url, page string) {
	b.t.Helper()
	b.do("navigate to "+url, chromedp.Navigate(url))
	b.waitReady(page)
}

// waitReady waits until document.body.dataset.ready is page and
// window.slogateRenders is a positive number.
func (b *browser) waitReady(page string) {
	b.t.Helper()
	b.waitUntil("the "+page+" page to be ready", actionTimeout, func() (bool, string) {
		s := b.state()
		return s.Ready == page && s.Renders != nil && *s.Renders > 0, fmt.Sprintf("%+v (renders %v)", s, deref(s.Renders))
	})
}

func deref(p *int) any {
	if p == nil {
		return "unset"
	}
	return *p
}

// renders returns window.slogateRenders (0 when unset).
func (b *browser) renders() int {
	b.t.Helper()
	s := b.state()
	if s.Renders == nil {
		return 0
	}
	return *s.Renders
}

// waitRerender waits until window.slogateRenders passes before and the
// page is ready as page again.
func (b *browser) waitRerender(page string, before int) {
	b.t.Helper()
	b.waitUntil(fmt.Sprintf("a render of the %s page after render %d", page, before), actionTimeout, func() (bool, string) {
		s := b.state()
		return s.Ready == page && s.Renders != nil && *s.Renders > before, fmt.Sprintf("%+v (renders %v)", s, deref(s.Renders))
	})
}

// inkJS counts the canvases matching a selector that hold more than one
// distinct colour: a chart that drew something, not a blank rectangle.
const inkJS = `((sel) => {
	const out = {total: 0, inked: 0, blank: []};
	for (const c of document.querySelectorAll(sel)) {
		out.total++;
		let ink = false;
		if (c.width > 0 && c.height > 0) {
			const ctx = c.getContext("2d");
			if (ctx) {
				const d = new Uint32Array(ctx.getImageData(0, 0, c.width, c.height).data.buffer);
				for (let i = 1; i < d.length; i++) {
					if (d[i] !== d[0]) { ink = true; break; }
				}
			}
		}
		if (ink) {
			out.inked++;
		} else {
			const p = c.closest("[data-slo]"), panel = c.closest("[class*=panel-]");
			out.blank.push((p ? p.dataset.slo : "?") + "/" + (panel ? panel.className : "?") + " " + c.width + "x" + c.height);
		}
	}
	return out;
})`

// inkReport is what inkJS returns.
type inkReport struct {
	Total, Inked int
	Blank        []string
}

// canvasHasInk returns how many canvases matching selector have
// non-background pixels, out of how many match.
func (b *browser) canvasHasInk(selector string) inkReport {
	b.t.Helper()
	var r inkReport
	b.eval(inkJS+"("+js(selector)+")", &r)
	return r
}

// setField sets an input's or select's value as a user would, firing
// input and change; for a select the value must be one of its options.
func (b *browser) setField(selector, value string) {
	b.t.Helper()
	var problem string
	b.eval(`((sel, v) => {
		const el = document.querySelector(sel);
		if (!el) return sel + " is missing";
		if (el.tagName === "SELECT" && ![...el.options].some(o => o.value === v))
			return sel + " has no option " + JSON.stringify(v) + "; options: " + JSON.stringify([...el.options].map(o => o.value));
		el.focus();
		el.value = v;
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
		return "";
	})(`+js(selector)+`, `+js(value)+`)`, &problem)
	if problem != "" {
		b.t.Fatalf("set %s to %q: %s", selector, value, problem)
	}
}

// value returns the value of the form control selector names.
func (b *browser) value(selector string) string {
	b.t.Helper()
	var v string
	b.eval(`(document.querySelector(`+js(selector)+`) || {}).value ?? "<missing>"`, &v)
	return v
}

// firstOption returns the value of the first option of select selector.
func (b *browser) firstOption(selector string) string {
	b.t.Helper()
	var v string
	b.eval(`((document.querySelector(`+js(selector)+`) || {}).options || [{value: "<missing>"}])[0].value`, &v)
	return v
}

// text returns the trimmed textContent of the first match of selector,
// or "<missing>".
func (b *browser) text(selector string) string {
	b.t.Helper()
	var s string
	b.eval(`((sel) => { const el = document.querySelector(sel); return el ? el.textContent.replace(/\s+/g, " ").trim() : "<missing>"; })(`+js(selector)+`)`, &s)
	return s
}

// count returns how many elements match selector.
func (b *browser) count(selector string) int {
	b.t.Helper()
	var n int
	b.eval(`document.querySelectorAll(`+js(selector)+`).length`, &n)
	return n
}

// requireElements fails the test for every selector with no match.
func (b *browser) requireElements(where string, selectors ...string) {
	b.t.Helper()
	var missing []string
	b.eval(`(`+js(selectors)+`).filter(s => !document.querySelector(s))`, &missing)
	if len(missing) > 0 {
		b.t.Errorf("%s lacks %s", where, strings.Join(missing, ", "))
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// shotPrefix starts the names of the test's screenshot files.
func (b *browser) shotPrefix() string {
	return strings.Trim(unsafeName.ReplaceAllString(b.t.Name(), "_"), "_") + "-"
}

// screenshot writes a full-page PNG named after the test and name, and
// logs its path.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	return b.capture(name, chromedp.FullScreenshot(100))
}

// screenshotViewport is screenshot of the window only, for pages too
// long for a full-page image.
func (b *browser) screenshotViewport(name string) string {
	b.t.Helper()
	return b.capture(name, chromedp.CaptureScreenshot())
}

func (b *browser) capture(name string, shot chromedp.Action[[]byte]) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return ""
		}
		b.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	file := b.shotPrefix() + strings.Trim(unsafeName.ReplaceAllString(name, "_"), "_") + ".png"
	path := filepath.Join(b.shots, file)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("write screenshot: %v", err)
		return ""
	}
	b.t.Logf("screenshot: %s", path)
	return path
}
