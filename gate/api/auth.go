package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/slogate/slogate/slo"
)

// actorKey is where Auth leaves the name of the token that authenticated a
// request, and teamsKey the teams it is limited to.
const (
	actorKey = "slogate.actor"
	teamsKey = "slogate.teams"
)

// Auth checks bearer tokens against the SHA-256 hashes in the server
// config. It is safe for concurrent use.
type Auth struct {
	tokens         []token
	readsNeedToken bool
}

type token struct {
	name   string
	hash   []byte
	scopes []string
	teams  []string // nil for every team
}

// NewAuth builds an Auth from validated config.
func NewAuth(cfg slo.Auth) *Auth {
	a := &Auth{readsNeedToken: cfg.ReadsNeedToken}
	for _, t := range cfg.Tokens {
		h, _ := hex.DecodeString(strings.ToLower(t.SHA256))
		a.tokens = append(a.tokens, token{name: t.Name, hash: h, scopes: t.Scopes, teams: t.Teams})
	}
	return a
}

// HashToken returns the hex SHA-256 of a token, as the config stores it.
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// identify returns the token matching the request's bearer token. Every
// configured hash is compared, in constant time, so timing tells nothing
// about which or how much of a token matched.
func (a *Auth) identify(r *http.Request) (*token, bool) {
	h := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || raw == "" {
		return nil, false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(raw)))
	var found *token
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], a.tokens[i].hash) == 1 {
			found = &a.tokens[i]
		}
	}
	return found, found != nil
}

// Require returns middleware that lets a request through only with a token
// holding scope: 401 without a valid token, 403 with one lacking the scope.
// The token's name is kept for the audit log (see Actor).
func (a *Auth) Require(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			t, ok := a.identify(c.Request())
			if !ok {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="slogate"`)
				return echo.NewHTTPError(http.StatusUnauthorized, "missing or invalid bearer token")
			}
			if !slices.Contains(t.scopes, scope) && !(scope == slo.ScopeRead && len(t.scopes) > 0) {
				return echo.NewHTTPError(http.StatusForbidden, "token "+t.name+" lacks scope "+scope)
			}
			c.Set(actorKey, t.name)
			if len(t.teams) > 0 {
				c.Set(teamsKey, t.teams)
			}
			return next(c)
		}
	}
}

// Read returns middleware for read endpoints: open unless the config says
// reads need a token, in which case any valid token will do.
func (a *Auth) Read() echo.MiddlewareFunc {
	if !a.readsNeedToken {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	return a.Require(slo.ScopeRead)
}

// ForTeam returns nil when the token that authenticated c may act for
// services owned by team, and a 403 saying why not otherwise: a token
// limited to some teams (slo.Token.Teams) acts for theirs only. what says
// what was refused, such as "change the spec of checkout".
func ForTeam(c echo.Context, team, what string) error {
	teams, ok := c.Get(teamsKey).([]string)
	if !ok || slices.Contains(teams, team) {
		return nil
	}
	return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf("token %s may not %s: it acts for %s only, and team %s owns the service",
		Actor(c), what, strings.Join(teams, ", "), team))
}

// Actor returns the name of the token that authenticated c, or "anonymous".
func Actor(c echo.Context) string {
	if s, ok := c.Get(actorKey).(string); ok {
		return s
	}
	return "anonymous"
}
