package store

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestPruneKeepsTheLatestDeployAndDecision(t *testing.T) {
	// Prune cuts 30 days after t0: at(d) for d below 30 days is old.
	day := 24 * time.Hour
	cut := at(30 * day)
	deploy := func(service, env string, started time.Time) Deploy {
		return Deploy{Service: service, Env: env, Version: started.Format(time.DateOnly), StartedAt: started}
	}
	change := func(service string, when time.Time, to string) DecisionChange {
		return DecisionChange{Service: service, At: when, From: "allow", To: to}
	}
	tests := []struct {
		name      string
		deploys   []Deploy
		decisions []DecisionChange
		// wantDeploys and wantDecisions are what is left, by index in
		// deploys and decisions.
		wantDeploys, wantDecisions []int
	}{
		{
			name:        "an old deploy followed by another old one goes, the latest stays",
			deploys:     []Deploy{deploy("checkout", "prod", at(day)), deploy("checkout", "prod", at(2*day))},
			wantDeploys: []int{1},
		},
		{
			name:        "an old deploy followed by a recent one goes",
			deploys:     []Deploy{deploy("checkout", "prod", at(day)), deploy("checkout", "prod", at(40*day))},
			wantDeploys: []int{1},
		},
		{
			name: "the latest old deploy of each service and environment stays",
			deploys: []Deploy{deploy("checkout", "prod", at(day)), deploy("checkout", "staging", at(2*day)),
				deploy("checkout", "", at(3*day)), deploy("search", "prod", at(4*day)), deploy("checkout", "prod", at(5*day))},
			wantDeploys: []int{1, 2, 3, 4},
		},
		{
			name:        "recent deploys stay",
			deploys:     []Deploy{deploy("checkout", "prod", at(30*day)), deploy("checkout", "prod", at(31*day))},
			wantDeploys: []int{0, 1},
		},
		{
			name: "of two old deploys started at once, the last recorded stays",
			deploys: []Deploy{deploy("checkout", "prod", at(day)), deploy("checkout", "prod", at(day)),
				deploy("checkout", "prod", at(-day))},
			wantDeploys: []int{1},
		},
		{
			name: "an old decision change followed by another goes, the latest of each service stays",
			decisions: []DecisionChange{change("checkout", at(day), "slow"), change("checkout", at(2*day), "block"),
				change("search", at(day), "slow")},
			wantDecisions: []int{1, 2},
		},
		{
			name: "an old decision change followed by recent ones goes, and one made at the cutoff stays",
			decisions: []DecisionChange{change("checkout", at(29*day), "slow"), change("checkout", at(30*day), "allow"),
				change("checkout", at(31*day), "block")},
			wantDecisions: []int{1, 2},
		},
		{
			name: "of two old decision changes made at once, the last recorded stays",
			decisions: []DecisionChange{change("checkout", at(day), "slow"), change("checkout", at(day), "block"),
				change("checkout", at(-day), "allow")},
			wantDecisions: []int{1},
		},
	}
	// decisionKey names a decision change in a case: no two share it.
	decisionKey := func(c DecisionChange) string {
		return c.Service + " " + trunc(c.At).Format(time.RFC3339Nano) + " " + c.To
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t)
			var deploys []Deploy
			for _, d := range tt.deploys {
				deploys = append(deploys, mustAddDeploy(t, s, d))
			}
			services := map[string]bool{}
			for _, c := range tt.decisions {
				if err := s.AddDecisionChange(ctx, c); err != nil {
					t.Fatal(err)
				}
				services[c.Service] = true
			}
			override := mustAddOverride(t, s, Override{Service: "checkout", Reason: "hotfix", By: "alice",
				CreatedAt: at(day), ExpiresAt: at(day + time.Hour)})
			wantAudit := audit(t, s)
			wantLast, err := s.LastDecisions(ctx)
			if err != nil {
				t.Fatal(err)
			}

			want := int64(len(tt.deploys) - len(tt.wantDeploys) + len(tt.decisions) - len(tt.wantDecisions))
			for i := range 2 {
				n, err := s.Prune(ctx, cut)
				if err != nil {
					t.Fatalf("prune %d: %v", i+1, err)
				}
				if n != want {
					t.Errorf("prune %d deleted %d rows, want %d", i+1, n, want)
				}
				want = 0
			}

			var wantDeploys []int64
			for _, i := range tt.wantDeploys {
				wantDeploys = append(wantDeploys, deploys[i].ID)
			}
			left, err := s.Deploys(ctx, DeployFilter{Limit: MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			gotDeploys := deployIDs(left)
			slices.Sort(gotDeploys)
			if !slices.Equal(gotDeploys, wantDeploys) {
				t.Errorf("got deploys %v left, want %v", gotDeploys, wantDeploys)
			}

			var wantDecisions, gotDecisions []string
			for _, i := range tt.wantDecisions {
				wantDecisions = append(wantDecisions, decisionKey(tt.decisions[i]))
			}
			for svc := range services {
				cs, err := s.DecisionHistory(ctx, svc, MaxLimit)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cs {
					gotDecisions = append(gotDecisions, decisionKey(c))
				}
			}
			slices.Sort(wantDecisions)
			slices.Sort(gotDecisions)
			if !slices.Equal(gotDecisions, wantDecisions) {
				t.Errorf("got decision changes left\n%q\nwant\n%q", gotDecisions, wantDecisions)
			}
			if last, err := s.LastDecisions(ctx); err != nil || !maps.Equal(last, wantLast) {
				t.Errorf("got last decisions %v (err %v), want them unchanged: %v", last, err, wantLast)
			}

			if got := audit(t, s); !reflect.DeepEqual(got, wantAudit) {
				t.Errorf("got audit\n%+v\nwant it unchanged\n%+v", got, wantAudit)
			}
			if _, err := s.Override(ctx, override.ID); err != nil {
				t.Errorf("override %d, ended long before the cutoff: %v, want it kept", override.ID, err)
			}
		})
	}
}
