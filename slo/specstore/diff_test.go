package specstore

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestDiffIsTheUnifiedDiffOfDiffU(t *testing.T) {
	spec := "name: checkout\nowner:\n  team: payments\nslos:\n  - name: availability\n    objective: 99\n    window: 28d\n" +
		"    sli:\n      push: {}\n  - name: latency\n    objective: 95\n    window: 28d\n    sli:\n      push: {}\n"
	for _, tc := range []struct {
		name     string
		old, new string
	}{
		{"one line changed", spec, strings.Replace(spec, "objective: 99\n", "objective: 99.5\n", 1)},
		{"changes far apart make two hunks", spec, strings.Replace(strings.Replace(spec, "checkout", "cart", 1), "objective: 95", "objective: 90", 1)},
		{"changes close together make one hunk", spec, strings.Replace(strings.Replace(spec, "objective: 99\n", "objective: 98\n", 1), "objective: 95", "objective: 90", 1)},
		{"created", "", spec},
		{"removed", spec, ""},
		{"lines added at the end", spec, spec + "gate:\n  minBudget: 10\n"},
		{"no newline at the end", spec, strings.TrimSuffix(spec, "\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Diff("a", "b", tc.old, tc.new)
			want := diffU(t, tc.old, tc.new)
			if got != want {
				t.Fatalf("got\n%s\nwant (diff -u)\n%s", got, want)
			}
		})
	}
	if d := Diff("a", "b", spec, spec); d != "" {
		t.Fatalf("same text: got %q, want no diff", d)
	}
}

// diffU runs the real diff -u (diffutils is in every Debian) with the
// headers Diff writes.
func diffU(t *testing.T, old, new string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{"a": old, "b": new} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("diff", "-u", "--label", "a", "--label", "b", "a", "b")
	cmd.Dir = dir
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
		t.Fatalf("diff -u: %v", err)
	}
	return string(out)
}

func TestDiffIsMinimalAndAppliesBack(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		old := randomText(rng)
		new := mutate(rng, old)
		d := Diff("a", "b", old, new)
		if got := apply(t, old, d); got != new {
			t.Fatalf("case %d: applying\n%s\nto %q gives %q, want %q", i, d, old, got, new)
		}
		a, b := splitLines(old), splitLines(new)
		changed := 0
		for _, l := range strings.Split(d, "\n")[min(2, len(d)):] {
			if strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-") {
				changed++
			}
		}
		if want := len(a) + len(b) - 2*lcsLen(a, b); changed != want {
			t.Fatalf("case %d: %d lines changed, want the minimum %d:\n%s", i, changed, want, d)
		}
	}
}

func randomText(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.IntN(30) {
		b.WriteString("l" + strconv.Itoa(rng.IntN(6)) + "\n")
	}
	return b.String()
}

func mutate(rng *rand.Rand, s string) string {
	lines := splitLines(s)
	for range rng.IntN(6) {
		switch k := rng.IntN(3); {
		case k == 0 && len(lines) > 0:
			i := rng.IntN(len(lines))
			lines = append(lines[:i], lines[i+1:]...)
		default:
			i := rng.IntN(len(lines) + 1)
			lines = append(lines[:i], append([]string{"n" + strconv.Itoa(rng.IntN(6)) + "\n"}, lines[i:]...)...)
		}
	}
	return strings.Join(lines, "")
}

func lcsLen(a, b []string) int {
	prev := make([]int, len(b)+1)
	for i := len(a) - 1; i >= 0; i-- {
		cur := make([]int, len(b)+1)
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				cur[j] = prev[j+1] + 1
			} else {
				cur[j] = max(prev[j], cur[j+1])
			}
		}
		prev = cur
	}
	return prev[0]
}

// apply applies a unified diff of whole lines that all end in newlines.
func apply(t *testing.T, old, d string) string {
	t.Helper()
	if d == "" {
		return old
	}
	src := splitLines(old)
	var out []string
	next := 0 // index in src of the next line not yet copied
	for _, l := range strings.SplitAfter(d, "\n")[2:] {
		switch {
		case l == "":
		case strings.HasPrefix(l, "@@"):
			var sa, na int
			rng := strings.Fields(l)[1][1:]
			start, count, found := strings.Cut(rng, ",")
			sa, _ = strconv.Atoi(start)
			na = 1
			if found {
				na, _ = strconv.Atoi(count)
			}
			if na == 0 {
				sa++
			}
			out = append(out, src[next:sa-1]...)
			next = sa - 1
		case l[0] == ' ':
			out = append(out, src[next])
			next++
		case l[0] == '-':
			next++
		case l[0] == '+':
			out = append(out, l[1:])
		default:
			t.Fatalf("bad diff line %q", l)
		}
	}
	return strings.Join(append(out, src[next:]...), "")
}
