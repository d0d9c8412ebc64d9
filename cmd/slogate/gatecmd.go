package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slogate/slogate/gate"
)

// Exit codes of the gate and deploy verbs.
const (
	exitShip     = 0
	exitSlowDown = 1
	exitNoAnswer = 2
)

// client talks to a slogate server.
type client struct {
	server  string
	token   string
	timeout time.Duration
	http    *http.Client
}

// apiError is an answer from the server other than success.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.msg, e.status) }

// clientFlags adds --server, --token and --timeout to cmd.
func clientFlags(cmd *cobra.Command, c *client) {
	f := cmd.Flags()
	f.StringVar(&c.server, "server", os.Getenv("SLOGATE_URL"), "slogate server URL (default $SLOGATE_URL)")
	f.StringVar(&c.token, "token", "", "bearer token (default $SLOGATE_TOKEN)")
	f.DurationVar(&c.timeout, "timeout", 10*time.Second, "timeout of each request")
}

func (c *client) init() error {
	if c.server == "" {
		return errors.New("--server (or $SLOGATE_URL) is required")
	}
	u, err := url.Parse(c.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--server must be an http(s) URL, got %q", c.server)
	}
	c.server = strings.TrimRight(c.server, "/")
	if c.token == "" {
		c.token = os.Getenv("SLOGATE_TOKEN")
	}
	c.http = &http.Client{Timeout: c.timeout}
	return nil
}

// do sends a JSON request and decodes a JSON answer into out. Any status in
// ok is a success; others are returned as *apiError with the server's
// message.
func (c *client) do(ctx context.Context, method, path string, body, out any, ok ...int) (int, error) {
	if body == nil {
		return c.send(ctx, method, path, "", nil, out, ok...)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	return c.send(ctx, method, path, "application/json", b, out, ok...)
}

// send is do with a body already encoded as contentType (none when
// contentType is empty), such as a spec file's YAML.
func (c *client) send(ctx context.Context, method, path, contentType string, body []byte, out any, ok ...int) (int, error) {
	var rd io.Reader
	if contentType != "" {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, rd)
	if err != nil {
		return 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read answer: %w", err)
	}
	for _, s := range ok {
		if resp.StatusCode == s {
			if out != nil {
				if err := json.Unmarshal(data, out); err != nil {
					return resp.StatusCode, fmt.Errorf("answer is not the expected JSON: %w", err)
				}
			}
			return resp.StatusCode, nil
		}
	}
	// slogate's API answers {"error"}, echo's default error handler
	// {"message"}; a proxy in front may answer a page of HTML.
	var e struct{ Error, Message string }
	msg := strings.TrimSpace(string(data))
	if len(msg) > 200 {
		msg = strings.ToValidUTF8(msg[:200], "") + "..."
	}
	msg = cmp.Or(msg, strings.ToLower(http.StatusText(resp.StatusCode)))
	if json.Unmarshal(data, &e) == nil && e.Error+e.Message != "" {
		msg = cmp.Or(e.Error, e.Message)
	}
	return resp.StatusCode, &apiError{status: resp.StatusCode, msg: msg}
}

func newGateCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "gate", Short: "Ask the release gate, or override it"}
	cmd.AddCommand(newGateCheckCmd(), newGateOverrideCmd())
	return cmd
}

type checkOptions struct {
	client
	service, env, version, commit, message, changeType string
	json, failOpen, failClosed                         bool
	wait                                               time.Duration
}

func newGateCheckCmd() *cobra.Command {
	var o checkOptions
	cmd := &cobra.Command{
		Use:   "check --service NAME [flags]",
		Short: "Ask whether a change may ship now",
		Long: `check asks the gate whether a change to a service may ship now and exits:

  0  ship: the budget allows it, the change type is exempt from a slow-down,
     an override is active, or the gate runs in shadow mode
  1  slow down: only fixes and reverts (or what the policy allows) may ship
  2  the gate could not be asked (server down, timeout, bad request,
     unknown service, bad token)

With --fail-open, a server that cannot be reached or fails (timeouts, 5xx)
gives 0 with a loud warning instead of 2; a request the server refuses
(4xx) still gives 2, since the pipeline is misconfigured. A short summary goes
to stderr; --json prints the whole answer on stdout.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := gateCheck(cmd.Context(), &o, cmd.OutOrStdout(), cmd.ErrOrStderr()); code != exitShip {
				return exitError{code: code}
			}
			return nil
		},
	}
	clientFlags(cmd, &o.client)
	f := cmd.Flags()
	f.StringVar(&o.service, "service", "", "service to deploy (required)")
	f.StringVar(&o.env, "env", "production", "environment deployed to")
	f.StringVar(&o.version, "version", "", "version being deployed")
	f.StringVar(&o.commit, "commit", "", "commit being deployed")
	f.StringVar(&o.message, "commit-message", "", "commit message; its Conventional Commits type (fix:, revert:, feat!: ...) is the change type")
	f.StringVar(&o.changeType, "change-type", "", "change type (fix, revert, feat, ...); overrides the commit message")
	f.BoolVar(&o.json, "json", false, "print the full answer as JSON on stdout")
	f.BoolVar(&o.failOpen, "fail-open", false, "exit 0 with a warning when the gate cannot be reached")
	f.BoolVar(&o.failClosed, "fail-closed", true, "exit 2 when the gate cannot be reached (the default)")
	f.DurationVar(&o.wait, "wait", 0, "keep asking until the change may ship or this long has passed")
	cmd.MarkFlagsMutuallyExclusive("fail-open", "fail-closed")
	return cmd
}

// gateCheck asks the gate (polling with --wait) and returns the exit code.
func gateCheck(ctx context.Context, o *checkOptions, stdout, stderr io.Writer) int {
	if o.service == "" {
		fmt.Fprintln(stderr, "slogate gate check: --service is required")
		return exitNoAnswer
	}
	if err := o.client.init(); err != nil {
		fmt.Fprintln(stderr, "slogate gate check:", err)
		return exitNoAnswer
	}
	body := map[string]string{"env": o.env, "version": o.version, "commit": o.commit,
		"change_type": o.changeType, "message": o.message}
	deadline := time.Now().Add(o.wait)
	for {
		var a gate.Answer
		_, err := o.do(ctx, http.MethodPost, "/api/v1/gate/"+url.PathEscape(o.service), body, &a, http.StatusOK)
		if err != nil {
			var ae *apiError
			refused := errors.As(err, &ae) && ae.status < 500
			if o.failOpen && !refused {
				fmt.Fprintf(stderr, "WARNING: the release gate could not be asked (%v); shipping anyway because of --fail-open\n", err)
				return exitShip
			}
			fmt.Fprintf(stderr, "slogate gate check: could not ask the gate: %v\n", err)
			return exitNoAnswer
		}
		if o.json {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(&a)
		}
		fmt.Fprintln(stderr, summary(&a, o.service))
		if a.Allowed {
			return exitShip
		}
		if o.wait <= 0 || time.Now().After(deadline) {
			return exitSlowDown
		}
		pause := min(30*time.Second, max(time.Second, o.wait/20), time.Until(deadline))
		fmt.Fprintf(stderr, "waiting %s for the budget to allow it (until %s)\n", pause.Round(time.Second), deadline.Format(time.TimeOnly))
		select {
		case <-ctx.Done():
			return exitSlowDown
		case <-time.After(pause):
		}
	}
}

// summary renders an answer as a line or two for people.
func summary(a *gate.Answer, service string) string {
	var b strings.Builder
	var slos []string
	for _, s := range a.SLOs {
		if !s.Gated {
			continue
		}
		if s.BudgetRemaining != nil {
			slos = append(slos, fmt.Sprintf("%s %s left", s.Name, percent(*s.BudgetRemaining)))
		} else {
			slos = append(slos, fmt.Sprintf("%s %s", s.Name, strings.ReplaceAll(s.Status, "_", " ")))
		}
	}
	switch {
	case !a.Gated:
		fmt.Fprintf(&b, "ship: env %s is not gated (%s)", a.Env, strings.Join(slos, ", "))
	case a.Decision == gate.Ship:
		fmt.Fprintf(&b, "ship: all %d SLOs within budget (%s)", len(slos), strings.Join(slos, ", "))
	case a.Override != nil:
		fmt.Fprintf(&b, "ship (override by %s until %s: %s); the budget says slow down: %s",
			a.Override.By, a.Override.ExpiresAt.Local().Format(time.DateTime), a.Override.Reason, strings.Join(a.Reasons, "; "))
	case a.Allowed && a.Exempt:
		fmt.Fprintf(&b, "ship: %s changes may go out during a slow-down: %s", a.ChangeType, strings.Join(a.Reasons, "; "))
	case a.Allowed:
		fmt.Fprintf(&b, "ship (shadow mode, would slow down): %s", strings.Join(a.Reasons, "; "))
	default:
		allowed := "fix/revert"
		if a.Policy != nil && len(a.Policy.AllowedChangeTypes) > 0 {
			allowed = strings.Join(a.Policy.AllowedChangeTypes, "/")
		}
		reasons := a.Reasons
		if a.Freeze != "" && len(reasons) == 0 {
			reasons = []string{a.Freeze}
		}
		fmt.Fprintf(&b, "slow down: %s; only %s changes may ship; override: slogate gate override --service %s --reason '...'",
			strings.Join(reasons, "; "), allowed, service)
	}
	for _, w := range a.Warnings {
		fmt.Fprintf(&b, "\nwarning: %s", w)
	}
	if a.URL != "" {
		fmt.Fprintf(&b, "\n%s", a.URL)
	}
	return b.String()
}

func percent(r float64) string {
	p := r * 100
	if math.Abs(p) >= 10 {
		return fmt.Sprintf("%.0f%%", p)
	}
	return fmt.Sprintf("%.1f%%", p)
}

func newGateOverrideCmd() *cobra.Command {
	var (
		c                             client
		service, reason, by, env, dur string
		end                           int64
	)
	cmd := &cobra.Command{
		Use:   "override --service NAME --reason TEXT [flags]",
		Short: "Let changes ship despite a slow-down, for a while, with a reason that is audited",
		RunE: func(cmd *cobra.Command, args []string) error {
			errOut := cmd.ErrOrStderr()
			if service == "" {
				fmt.Fprintln(errOut, "slogate gate override: --service is required")
				return exitError{code: exitNoAnswer}
			}
			if err := c.init(); err != nil {
				fmt.Fprintln(errOut, "slogate gate override:", err)
				return exitError{code: exitNoAnswer}
			}
			var o struct {
				ID        int64     `json:"id"`
				By        string    `json:"by"`
				Reason    string    `json:"reason"`
				ExpiresAt time.Time `json:"expires_at"`
			}
			path := "/api/v1/gate/" + url.PathEscape(service) + "/overrides"
			var err error
			if end > 0 {
				_, err = c.do(cmd.Context(), http.MethodDelete, fmt.Sprintf("%s/%d", path, end), nil, &o, http.StatusOK)
			} else {
				_, err = c.do(cmd.Context(), http.MethodPost, path,
					map[string]string{"reason": reason, "by": by, "env": env, "duration": dur}, &o, http.StatusCreated)
			}
			if err != nil {
				fmt.Fprintln(errOut, "slogate gate override:", err)
				return exitError{code: exitNoAnswer}
			}
			if end > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "override %d of %s ended\n", o.ID, service)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "override %d: %s may ship until %s (by %s: %s)\n",
					o.ID, service, o.ExpiresAt.Local().Format(time.DateTime), o.By, o.Reason)
			}
			return nil
		},
	}
	clientFlags(cmd, &c)
	f := cmd.Flags()
	f.StringVar(&service, "service", "", "service to override (required)")
	f.StringVar(&reason, "reason", "", "why (required; kept in the audit log)")
	f.StringVar(&by, "by", os.Getenv("USER"), "who overrides")
	f.StringVar(&env, "env", "", "only this environment (default all)")
	f.StringVar(&dur, "duration", "1h", "how long the override lasts (at most the policy's maxOverride, 24h by default)")
	f.Int64Var(&end, "end", 0, "end override ID early instead of creating one")
	return cmd
}

func newDeployCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "deploy", Short: "Record deploys"}
	var (
		c client
		d struct {
			Service    string     `json:"service"`
			Env        string     `json:"env"`
			Version    string     `json:"version,omitempty"`
			Commit     string     `json:"commit,omitempty"`
			Author     string     `json:"author,omitempty"`
			Message    string     `json:"message,omitempty"`
			Status     string     `json:"status,omitempty"`
			URL        string     `json:"url,omitempty"`
			StartedAt  *time.Time `json:"started_at,omitempty"`
			FinishedAt *time.Time `json:"finished_at,omitempty"`
		}
		started, finished string
	)
	rec := &cobra.Command{
		Use:   "record --service NAME --version V [flags]",
		Short: "Record a deploy, so its impact is measured and it can be named as a suspect",
		RunE: func(cmd *cobra.Command, args []string) error {
			errOut := cmd.ErrOrStderr()
			fail := func(err error) error {
				fmt.Fprintln(errOut, "slogate deploy record:", err)
				return exitError{code: exitNoAnswer}
			}
			if err := c.init(); err != nil {
				return fail(err)
			}
			for _, t := range []struct {
				flag, v string
				dst     **time.Time
			}{{"started-at", started, &d.StartedAt}, {"finished-at", finished, &d.FinishedAt}} {
				if t.v == "" {
					continue
				}
				tm, err := time.Parse(time.RFC3339, t.v)
				if err != nil {
					return fail(fmt.Errorf("--%s must be RFC 3339 such as 2026-11-25T14:02:00Z, got %q", t.flag, t.v))
				}
				*t.dst = &tm
			}
			var out struct {
				ID int64 `json:"id"`
			}
			if _, err := c.do(cmd.Context(), http.MethodPost, "/api/v1/deploys", &d, &out, http.StatusCreated); err != nil {
				return fail(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deploy %d recorded: %s %s to %s\n", out.ID, d.Service, d.Version+d.Commit, d.Env)
			return nil
		},
	}
	clientFlags(rec, &c)
	f := rec.Flags()
	f.StringVar(&d.Service, "service", "", "service deployed (required)")
	f.StringVar(&d.Env, "env", "production", "environment deployed to")
	f.StringVar(&d.Version, "version", "", "version deployed")
	f.StringVar(&d.Commit, "commit", "", "commit deployed")
	f.StringVar(&d.Author, "author", "", "who made the change")
	f.StringVar(&d.Message, "message", "", "commit message or description")
	f.StringVar(&d.Status, "status", "succeeded", "succeeded, failed, started or rolled_back")
	f.StringVar(&d.URL, "url", "", "link to the pipeline run")
	f.StringVar(&started, "started-at", "", "when the deploy started (RFC 3339; default now)")
	f.StringVar(&finished, "finished-at", "", "when the deploy finished (RFC 3339)")
	cmd.AddCommand(rec)
	return cmd
}
