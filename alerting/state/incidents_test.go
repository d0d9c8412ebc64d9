package state

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestIncidentsSurviveReopening(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slogate.db")
	s := open(t, path)
	if err := s.SaveIncidents(ctx, "checkout", []byte(`{"open":["page"]}`), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveIncidents(ctx, "search", []byte(`{"open":["ticket"]}`), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveIncidents(ctx, "checkout", []byte(`{"open":[]}`), t0.Add(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	got, err := s.LoadIncidents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"checkout": `{"open":[]}`, "search": `{"open":["ticket"]}`}
	if len(got) != len(want) {
		t.Fatalf("LoadIncidents = %q, want %q", got, want)
	}
	for svc, w := range want {
		if string(got[svc]) != w {
			t.Errorf("incidents of %s = %s, want %s", svc, got[svc], w)
		}
	}
}

func TestSaveIncidents(t *testing.T) {
	tests := []struct {
		name    string
		service string
		state   []byte
		want    map[string]string // after saving over {"checkout": {"a":1}}
		wantErr string
	}{
		{name: "replaces the state of a service", service: "checkout", state: []byte(`{"b":2}`),
			want: map[string]string{"checkout": `{"b":2}`}},
		{name: "adds a service", service: "search", state: []byte(`[]`),
			want: map[string]string{"checkout": `{"a":1}`, "search": `[]`}},
		{name: "deletes on nil state", service: "checkout", state: nil, want: map[string]string{}},
		{name: "deletes on empty state", service: "checkout", state: []byte{}, want: map[string]string{}},
		{name: "deletes nothing for a service without state", service: "search", state: nil,
			want: map[string]string{"checkout": `{"a":1}`}},
		{name: "refuses a missing service", service: "", state: []byte(`{}`), wantErr: "service: required"},
		{name: "refuses what is not JSON", service: "checkout", state: []byte(`{a:1`), wantErr: "state: not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, filepath.Join(t.TempDir(), "slogate.db"))
			if err := s.SaveIncidents(ctx, "checkout", []byte(`{"a":1}`), t0); err != nil {
				t.Fatal(err)
			}
			err := s.SaveIncidents(ctx, tt.service, tt.state, t0)
			if tt.wantErr != "" {
				var ie *InvalidError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SaveIncidents = %v, want an *InvalidError saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.LoadIncidents(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("LoadIncidents = %q, want %q", got, tt.want)
			}
			for svc, w := range tt.want {
				if string(got[svc]) != w {
					t.Errorf("incidents of %s = %s, want %s", svc, got[svc], w)
				}
			}
		})
	}
}
