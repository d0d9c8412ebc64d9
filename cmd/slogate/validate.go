package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/slogate/slogate/slo"
)

// configName is the file that makes a directory a server setup (a config
// with its specs) rather than a directory of specs, when it is a config.
const configName = "slogate.yaml"

// The output formats of validate.
const (
	// formatText prints FILE:LINE: FIELD: MESSAGE lines.
	formatText = "text"
	// formatGitHub prints GitHub Actions workflow commands, which the
	// runner turns into annotations on the pull request's diff.
	formatGitHub = "github"
	// formatMarkdown prints a report to post as a pull-request comment.
	formatMarkdown = "markdown"
)

// validateOptions are the flags of validate.
type validateOptions struct {
	config string
	format string
	// server checks the specs on a slogate server when its URL is set;
	// validate is offline otherwise.
	server client
}

func newValidateCmd() *cobra.Command {
	var o validateOptions
	cmd := &cobra.Command{
		Use:   "validate [--config FILE | --server URL] [--format text|github|markdown] [PATH...]",
		Short: "Check specs and server configs and list every problem",
		Long: `Validate checks each PATH and prints every problem as FILE:LINE: FIELD: MESSAGE,
and every warning as FILE:LINE: FIELD: warning: MESSAGE.

A PATH is a spec file (*.yaml, *.yml), a directory of spec files, or a
directory holding a server config named slogate.yaml, which is checked with
all the specs it names. Other files are skipped. With --config, the PATHs are
checked as the specs of that config: their schedules and sources must exist
in it. It exits 1 when there is any problem, 0 when all is valid; warnings
alone (such as a service without a runbook) do not fail.

With --server, each spec file is sent on its own to that slogate server's
POST /api/v1/specs/validate, which checks it against the server's config
and every other service it runs, without applying it; a service that a
spec file on the server defines is checked in that file's place, as a pull
request changing the file would be. Problems are reported at the lines of
the local file. The server may add notices (such as a changed SLI starting
a new history), which never fail. A file that could not be checked (server
unreachable, token refused) fails the check like a problem. --server is
never taken from $SLOGATE_URL, so that validate stays offline unless asked;
the token is --token or $SLOGATE_TOKEN (scope read, when the server's reads
need a token).

--format github prints GitHub Actions workflow commands, shown as
annotations on a pull request's diff; --format markdown prints a report to
post as a pull-request comment. The summary goes to stderr in every format.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			if o.server.server == "" && (f.Changed("token") || f.Changed("timeout")) {
				return errors.New("--token and --timeout apply only with --server")
			}
			if err := o.check(args); err != nil {
				return err
			}
			if !runValidate(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), &o, args) {
				return exitError{code: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "server config file the specs are checked against, offline")
	f.StringVar(&o.server.server, "server", "", "slogate server URL to check each spec on, against its config and services (not taken from $SLOGATE_URL)")
	f.StringVar(&o.server.token, "token", "", "bearer token for --server (default $SLOGATE_TOKEN)")
	f.DurationVar(&o.server.timeout, "timeout", 10*time.Second, "timeout of each request to --server")
	f.StringVar(&o.format, "format", formatText, "output: text, github (GitHub Actions annotations) or markdown (a pull-request comment)")
	return cmd
}

// check refuses flags and paths that do not go together, and readies the
// client for --server.
func (o *validateOptions) check(paths []string) error {
	switch o.format {
	case formatText, formatGitHub, formatMarkdown:
	default:
		return fmt.Errorf("--format must be %s, %s or %s, got %q", formatText, formatGitHub, formatMarkdown, o.format)
	}
	switch {
	case o.server.server == "" && o.config == "" && len(paths) == 0:
		return errors.New("nothing to validate: give spec files or directories, or --config")
	case o.server.server == "":
		return nil
	case o.config != "":
		return errors.New("--config and --server do not go together: --server checks the specs against the server's own config, --config offline against a local one")
	case len(paths) == 0:
		return errors.New("nothing to validate: give the spec files or directories to check on --server")
	}
	return o.server.init()
}

// runValidate checks paths, offline or on o's server, prints what it
// found to out in o's format and a summary to errOut, and reports whether
// all is valid: warnings and notices alone do not make it invalid. The
// client of o.server must be initialised when its URL is set.
func runValidate(ctx context.Context, out, errOut io.Writer, o *validateOptions, paths []string) bool {
	var r *report
	if o.server.server != "" {
		r = checkOnServer(ctx, &o.server, errOut, paths)
	} else {
		r = checkOffline(errOut, o.config, paths)
	}
	return r.print(out, errOut, o.format)
}

// validate checks config and paths offline, prints problems and warnings
// to out as text and a summary to errOut, and reports whether everything
// is valid: warnings alone do not make it invalid.
func validate(out, errOut io.Writer, config string, paths []string) bool {
	return checkOffline(errOut, config, paths).print(out, errOut, formatText)
}

// finding is one thing a check found: a problem or a warning at a file's
// line and field, a notice from the server, or a file that could not be
// checked at all.
type finding struct {
	slo.Problem
	// Notice is information from the server, such as an SLI change that
	// starts a new history. It never fails the check.
	Notice bool
	// Unchecked marks a file the server could not check (unreachable,
	// token refused); Message says why. It fails the check, though the
	// spec may be valid.
	Unchecked bool
}

// failed reports whether f fails the check.
func (f finding) failed() bool { return !f.Warning && !f.Notice }

// The kinds of finding, in the order reports list them.
const (
	kindError = iota
	kindUnchecked
	kindWarning
	kindNotice
)

// kind is what f is: an error, a file not checked, a warning or a notice.
func (f finding) kind() int {
	switch {
	case f.Notice:
		return kindNotice
	case f.Warning:
		return kindWarning
	case f.Unchecked:
		return kindUnchecked
	}
	return kindError
}

// text renders f as FILE:LINE: FIELD: MESSAGE, with "warning: ",
// "notice: " or "not checked: " before the message when it is one.
func (f finding) text() string {
	p := f.Problem
	switch {
	case f.Notice:
		p.Message = "notice: " + p.Message
	case f.Unchecked:
		p.Message = "not checked: " + p.Message
	}
	return p.String()
}

// report is what validate found, whichever way it checked.
type report struct {
	// findings are in the order found: file by file, each file's by line.
	findings []finding
	// services counts the services found valid.
	services int
	// how says what the specs were checked against, for the markdown
	// report.
	how string
}

func (r *report) add(p slo.Problem) { r.findings = append(r.findings, finding{Problem: p}) }

// tally counts the findings by kind; problems include files not checked.
type tally struct{ problems, warnings, notices, unchecked int }

func (r *report) tally() tally {
	var t tally
	for _, f := range r.findings {
		switch {
		case f.Notice:
			t.notices++
		case f.Warning:
			t.warnings++
		case f.Unchecked:
			t.unchecked++
		default:
			t.problems++
		}
	}
	return t
}

// summary is the line validate ends with, on stderr, and whether all is
// valid.
func (r *report) summary() (string, bool) {
	t := r.tally()
	var b strings.Builder
	ok := t.problems+t.unchecked == 0
	if ok {
		fmt.Fprintf(&b, "ok: %d service(s) valid", r.services)
		if t.warnings > 0 {
			fmt.Fprintf(&b, ", %d warning(s)", t.warnings)
		}
	} else {
		fmt.Fprintf(&b, "%d problem(s), %d warning(s)", t.problems, t.warnings)
	}
	if t.notices > 0 {
		fmt.Fprintf(&b, ", %d notice(s)", t.notices)
	}
	if t.unchecked > 0 {
		fmt.Fprintf(&b, ", %d file(s) not checked", t.unchecked)
	}
	return b.String(), ok
}

// print writes the findings to out in format and the summary to errOut,
// and reports whether all is valid.
func (r *report) print(out, errOut io.Writer, format string) bool {
	sum, ok := r.summary()
	switch format {
	case formatGitHub:
		for _, f := range r.findings {
			fmt.Fprintln(out, f.githubCommand())
		}
	case formatMarkdown:
		r.markdown(out, sum, ok)
	default:
		for _, f := range r.findings {
			fmt.Fprintln(out, f.text())
		}
	}
	fmt.Fprintln(errOut, sum)
	return ok
}

// checkOffline checks config and paths without a server, reporting the
// paths it skips on errOut.
func checkOffline(errOut io.Writer, config string, paths []string) *report {
	r := &report{}
	var configs []string // in Markdown, for r.how
	if config != "" {
		configs = append(configs, mdCode(config))
	}
	var other slo.Problems // errors that are not a file's problems, listed last
	collect := func(n int, warnings slo.Problems, err error) {
		r.services += n
		for _, w := range warnings {
			r.add(w)
		}
		var ps slo.Problems
		switch {
		case errors.As(err, &ps):
			for _, p := range ps {
				r.add(p)
			}
		case err != nil:
			other = append(other, slo.Problem{Message: err.Error()})
		}
	}
	fromCatalog := func(cat *slo.Catalog, err error) {
		if cat == nil {
			collect(0, nil, err)
			return
		}
		collect(len(cat.Services), cat.Warnings, err)
	}
	if config != "" {
		fromCatalog(slo.LoadWithSpecs(config, paths))
	} else {
		var specs []string
		for _, p := range paths {
			fi, err := os.Stat(p)
			switch {
			case err != nil:
				other = append(other, slo.Problem{Message: fmt.Errorf("validate: %w", err).Error()})
			case fi.IsDir() && isConfig(filepath.Join(p, configName)):
				fromCatalog(slo.Load(filepath.Join(p, configName)))
				configs = append(configs, mdCode(filepath.Join(p, configName)))
			case fi.IsDir(), isYAML(p):
				specs = append(specs, p)
			default:
				fmt.Fprintf(errOut, "skipped %s: not a YAML file or directory\n", p)
			}
		}
		if len(specs) > 0 {
			svcs, warnings, err := slo.LoadServicesWarnings(specs)
			collect(len(svcs), warnings, err)
		}
	}
	for _, p := range other {
		r.add(p)
	}
	r.how = "Checked offline, without a slogate server: schedules, sources and other services were not checked."
	if len(configs) > 0 {
		r.how = "Checked offline against the config " + strings.Join(configs, " and the config ") + "."
	}
	return r
}

// specCheck is the answer of POST /api/v1/specs/validate: valid with
// warnings and notices (200), or invalid with problems (400). Its "spec",
// the spec as the server would run it, is not shown.
type specCheck struct {
	Warnings []problemJSON `json:"warnings"`
	Notices  []string      `json:"notices"`
	Error    string        `json:"error"`
	Problems []problemJSON `json:"problems"`
}

// checkOnServer sends each spec file paths name to c's server to be
// checked there, one request per file, and reports what it found at the
// local files' lines. It reports the paths it skips on errOut.
func checkOnServer(ctx context.Context, c *client, errOut io.Writer, paths []string) *report {
	r := &report{how: "Checked on the slogate server: each spec against the server's config and every other service, as the server would run it."}
	var unreachable string
	for _, file := range r.serverSpecFiles(errOut, paths) {
		if unreachable != "" {
			// Asking again would only wait for the same timeout.
			r.findings = append(r.findings, finding{Problem: slo.Problem{File: file, Message: unreachable}, Unchecked: true})
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			r.add(slo.Problem{File: file, Message: fmt.Sprintf("cannot read spec: %v", pathReason(err))})
			continue
		}
		unreachable = r.checkSpec(ctx, c, file, data)
	}
	return r
}

// serverSpecFiles lists the spec files paths name, as the server would
// read them: a directory's *.yaml and *.yml files, not its hidden ones or
// subdirectories. A directory holding a server config is a problem: the
// server checks specs against its own config.
func (r *report) serverSpecFiles(errOut io.Writer, paths []string) []string {
	var files []string
	seen := map[string]bool{}
	add := func(f string) {
		if k := filepath.Clean(f); !seen[k] {
			seen[k] = true
			files = append(files, f)
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			r.add(slo.Problem{Message: fmt.Errorf("validate: %w", err).Error()})
		case fi.IsDir() && isConfig(filepath.Join(p, configName)):
			r.add(slo.Problem{File: p, Message: fmt.Sprintf("holds a server config (%s): with --server, give spec files or directories of specs; the server checks them against its own config", configName)})
		case fi.IsDir():
			list, prob := slo.SpecFiles(p)
			if prob != nil {
				r.add(*prob)
			}
			for _, f := range list {
				add(f)
			}
		case isYAML(p):
			add(p)
		default:
			fmt.Fprintf(errOut, "skipped %s: not a YAML file or directory\n", p)
		}
	}
	return files
}

// checkSpec asks the server to check one spec file's contents and adds
// what it answers. It returns why the server cannot be reached, if it
// cannot, so the other files are not sent.
func (r *report) checkSpec(ctx context.Context, c *client, file string, data []byte) (unreachable string) {
	var ans specCheck
	status, err := c.send(ctx, http.MethodPost, "/api/v1/specs/validate", "application/yaml", data, &ans,
		http.StatusOK, http.StatusBadRequest)
	var ae *apiError
	var ue *url.Error
	switch {
	case errors.As(err, &ae):
		r.findings = append(r.findings, finding{Problem: slo.Problem{File: file, Message: ae.Error() + statusHint(ae.status, c.token != "")}, Unchecked: true})
		return ""
	case errors.As(err, &ue):
		msg := fmt.Sprintf("cannot reach the server: %v", ue.Err)
		r.findings = append(r.findings, finding{Problem: slo.Problem{File: file, Message: msg}, Unchecked: true})
		return msg
	case err != nil:
		r.findings = append(r.findings, finding{Problem: slo.Problem{File: file, Message: fmt.Sprintf("%v (HTTP %d)", err, status)}, Unchecked: true})
		return ""
	}
	api := apiFile(specName(data))
	if status == http.StatusBadRequest {
		if len(ans.Problems) == 0 {
			r.add(slo.Problem{File: file, Message: cmp.Or(ans.Error, "refused by the server (HTTP 400)")})
		}
		r.addServerProblems(file, api, ans.Problems, false)
		return ""
	}
	r.services++
	r.addServerProblems(file, api, ans.Warnings, true)
	for _, n := range ans.Notices {
		r.findings = append(r.findings, finding{Problem: slo.Problem{File: file, Message: n}, Notice: true})
	}
	return ""
}

// pathReason drops the path from a file system error: the problem names
// the file already.
func pathReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// specName is the name the server reports a spec's problems under, as
// validateSpec derives it: the spec's name, or "spec" when it has none.
func specName(data []byte) string {
	var head struct {
		Name string `yaml:"name"`
	}
	_ = yaml.Unmarshal(data, &head)
	return cmp.Or(head.Name, "spec")
}

// addServerProblems adds the problems the server found checking the spec
// it was sent (named api) at the local file's lines: the body was the
// file, so its lines are the file's. A problem elsewhere on the server,
// such as in a spec file changed on the server's disk, fails the check
// too: it is kept whole in the message of a problem of the local file.
// Warnings elsewhere are not the pull request's business and are left
// out, as the server leaves them out of a valid answer.
func (r *report) addServerProblems(file, api string, ps []problemJSON, warnings bool) {
	for _, p := range ps {
		p.Warning = p.Warning || warnings
		switch {
		case p.File == api || p.File == "":
			r.add(slo.Problem{File: file, Line: p.Line, Field: p.Field, Message: p.Message, Warning: p.Warning})
		case !p.Warning:
			r.add(slo.Problem{File: file, Message: "on the server: " + cmp.Or(p.Text, p.Message)})
		}
	}
}

// statusHint says what to do about an answer that is not a check.
func statusHint(status int, token bool) string {
	switch {
	case status == http.StatusUnauthorized && !token:
		return ": the server needs a token; give one with scope read as --token or $SLOGATE_TOKEN"
	case status == http.StatusUnauthorized:
		return ": the server does not know the token given"
	case status == http.StatusForbidden:
		return ": give a token with scope read"
	case status == http.StatusNotFound:
		return ": the server has no POST /api/v1/specs/validate; is --server a slogate with the spec API?"
	}
	return ""
}

// githubCommand renders f as a GitHub Actions workflow command
// (::error, ::warning or ::notice), which the runner shows as an
// annotation at the file's line on the pull request's diff.
func (f finding) githubCommand() string {
	kind, title := "error", f.Field
	switch f.kind() {
	case kindNotice:
		kind = "notice"
	case kindWarning:
		kind = "warning"
	case kindUnchecked:
		title = "not checked"
	}
	var props []string
	if f.File != "" {
		props = append(props, "file="+escapeProperty(filepath.ToSlash(filepath.Clean(f.File))))
	}
	if f.Line > 0 {
		props = append(props, "line="+strconv.Itoa(f.Line))
	}
	if title != "" {
		props = append(props, "title="+escapeProperty(title))
	}
	cmd := "::" + kind
	if len(props) > 0 {
		cmd += " " + strings.Join(props, ",")
	}
	return cmd + "::" + escapeData(f.Message)
}

// escapeData escapes a workflow command's message as @actions/core does,
// so a newline cannot end the command and start another.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value, which also
// must not hold the ',' between properties or the ':' that ends them.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// markdown writes the report for a pull-request comment: a heading with
// the outcome and counts, what the specs were checked against, and a table
// of the findings, problems first, then warnings, then notices.
func (r *report) markdown(w io.Writer, summary string, ok bool) {
	icon := "❌"
	if ok {
		icon = "✅"
	}
	fmt.Fprintf(w, "### %s SLO specs: %s\n\n%s\n", icon, strings.TrimPrefix(summary, "ok: "), r.how)
	if len(r.findings) == 0 {
		return
	}
	// Problems first (errors and unchecked files as found), then warnings,
	// then notices.
	rank := func(f finding) int { return max(f.kind(), kindUnchecked) }
	fs := slices.Clone(r.findings)
	slices.SortStableFunc(fs, func(a, b finding) int { return cmp.Compare(rank(a), rank(b)) })
	fmt.Fprint(w, "\n| | File | Field | Message |\n| --- | --- | --- | --- |\n")
	for _, f := range fs {
		kind := [...]string{kindError: "❌ error", kindUnchecked: "❌ not checked", kindWarning: "⚠️ warning",
			kindNotice: "ℹ️ notice"}[f.kind()]
		where := f.File
		if where != "" && f.Line > 0 {
			where += ":" + strconv.Itoa(f.Line)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", kind, mdCode(where), mdCode(f.Field), mdText(f.Message))
	}
}

// mdTextEscaper escapes what GitHub's Markdown would read as formatting,
// HTML or a table cell's end, and keeps a message in its cell.
var mdTextEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`,
	"|", `\|`, "~", `\~`, "&", `\&`, "\r\n", "<br>", "\n", "<br>", "\r", "<br>")

// mdText renders s as plain text in a Markdown table cell.
func mdText(s string) string { return mdTextEscaper.Replace(s) }

// mdCode renders s as a code span in a Markdown table cell, or nothing
// when s is empty.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	// GitHub ends a table cell at a '|', even in a code span.
	s = strings.NewReplacer("|", `\|`, "\r", " ", "\n", " ").Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if len(fence) > 1 {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// isConfig reports whether p is a server config rather than a service
// spec (a service named slogate may well live in slogate.yaml): a config
// has no slos.
func isConfig(p string) bool {
	data, err := os.ReadFile(p)
	if err != nil {
		return false
	}
	var top map[string]any
	if yaml.Unmarshal(data, &top) != nil {
		return true // let the config loader report what is wrong
	}
	_, spec := top["slos"]
	return !spec
}

func isYAML(p string) bool {
	ext := strings.ToLower(filepath.Ext(p))
	return ext == ".yaml" || ext == ".yml"
}
