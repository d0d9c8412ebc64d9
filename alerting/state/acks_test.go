package state

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAcknowledge(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slogate.db")
	s := open(t, path)
	const key = "checkout/page/1764000000"
	now := t0.Add(1500 * time.Microsecond)

	first, err := s.Acknowledge(ctx, key, "alice", " on it ", now)
	if err != nil {
		t.Fatal(err)
	}
	want := Ack{Key: key, By: "alice", Comment: "on it", At: now.Truncate(time.Millisecond)}
	if first != want {
		t.Errorf("Acknowledge = %+v, want %+v", first, want)
	}

	again, err := s.Acknowledge(ctx, key, "bob", "me too", now.Add(time.Minute))
	if err != nil {
		t.Fatalf("second Acknowledge = %v, want no error", err)
	}
	if again != want {
		t.Errorf("second Acknowledge = %+v, want the first kept: %+v", again, want)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	got, err := s.Acked(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || *got != want {
		t.Errorf("Acked after reopening = %+v, want %+v", got, want)
	}
	if got, err := s.Acked(ctx, "checkout/page/1"); got != nil || err != nil {
		t.Errorf("Acked of an alert nobody acknowledged = %+v, %v; want nil, nil", got, err)
	}
}

func TestAcknowledgeValidates(t *testing.T) {
	tests := []struct {
		name          string
		key, by, note string
		wantField     string
	}{
		{name: "key is required", key: " ", by: "alice", wantField: "key"},
		{name: "by is required", key: "k", by: "", wantField: "by"},
		{name: "a long key is refused", key: strings.Repeat("k", MaxKey+1), by: "alice", wantField: "key"},
		{name: "a long comment is refused", key: "k", by: "alice", note: strings.Repeat("c", MaxComment+1), wantField: "comment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, filepath.Join(t.TempDir(), "slogate.db"))
			_, err := s.Acknowledge(context.Background(), tt.key, tt.by, tt.note, t0)
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Field != tt.wantField {
				t.Errorf("Acknowledge = %v, want an *InvalidError on field %s", err, tt.wantField)
			}
		})
	}
}

func TestAcks(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "slogate.db"))
	var keys []string
	for i := range 2*acksPerQuery + 3 {
		k := fmt.Sprintf("checkout/page/%d", i)
		keys = append(keys, k)
		if i%2 == 0 {
			if _, err := s.Acknowledge(ctx, k, "alice", "", t0); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name string
		keys []string
		want []string
	}{
		{"returns nothing for no keys", nil, nil},
		{"returns nothing for keys nobody acknowledged", []string{keys[1], keys[3]}, nil},
		{"returns the acknowledged among the keys", []string{keys[0], keys[1], keys[2]}, []string{keys[0], keys[2]}},
		{"returns them beyond one query's worth of keys", keys, evens(keys)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Acks(ctx, tt.keys)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Acks returned %d, want %d", len(got), len(tt.want))
			}
			for _, k := range tt.want {
				if a, ok := got[k]; !ok || a.Key != k || a.By != "alice" {
					t.Errorf("Acks[%q] = %+v, %t; want alice's acknowledgement", k, a, ok)
				}
			}
		})
	}
}

func evens(ss []string) []string {
	var out []string
	for i := 0; i < len(ss); i += 2 {
		out = append(out, ss[i])
	}
	return out
}
