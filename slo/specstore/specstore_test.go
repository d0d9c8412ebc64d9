package specstore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestStoreKeepsSpecsAcrossOpens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slogate.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	sp, created, err := s.Put(ctx, Spec{Service: "checkout", Text: "name: checkout\n", UpdatedAt: at, UpdatedBy: "ci"})
	if err != nil || !created {
		t.Fatalf("first put: got created=%v err=%v, want created", created, err)
	}
	if _, created, err := s.Put(ctx, Spec{Service: "checkout", Text: "name: checkout # v2\n", UpdatedAt: at, UpdatedBy: "ci"}); err != nil || created {
		t.Fatalf("second put: got created=%v err=%v, want a replacement", created, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get(ctx, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "name: checkout # v2\n" || !got.UpdatedAt.Equal(sp.UpdatedAt) || got.UpdatedBy != "ci" {
		t.Fatalf("got %+v, want the second spec at %v by ci", got, sp.UpdatedAt)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: got %v %v, want one spec", list, err)
	}
	if err := s.Delete(ctx, "checkout"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "checkout"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: got %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "checkout"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: got %v, want ErrNotFound", err)
	}
}
