package realtest

import (
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// verdict records what Binary did to a test, standing in for testing.T so
// that a failure in CI can be checked without failing this test.
type verdict struct {
	testing.TB
	skipped, failed string
}

func (v *verdict) Helper() {}

func (v *verdict) Skip(args ...any) {
	v.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}

func (v *verdict) Fatalf(format string, args ...any) {
	v.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// binaryFor runs Binary in a goroutine of its own, as Skip and Fatalf end
// it, and returns what it found and what it did.
func binaryFor(names ...string) (string, *verdict) {
	v := &verdict{}
	var got string
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = Binary(v, names...)
	}()
	<-done
	return got, v
}

func TestBinary(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	tests := []struct {
		name        string
		ci          string
		names       []string
		wantPath    string
		wantSkipped bool
		wantFailed  bool
	}{
		{"a binary on PATH is found", "true", []string{"slogate-no-such-binary", "sh"}, sh, false, false},
		{"a missing binary skips the test outside CI", "", []string{"slogate-no-such-binary"}, "", true, false},
		{"a missing binary fails the test in CI", "true", []string{"slogate-no-such-binary"}, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			got, v := binaryFor(tt.names...)
			if got != tt.wantPath || (v.skipped != "") != tt.wantSkipped || (v.failed != "") != tt.wantFailed {
				t.Errorf("got path %q, skipped %q, failed %q; want path %q, skipped %v, failed %v",
					got, v.skipped, v.failed, tt.wantPath, tt.wantSkipped, tt.wantFailed)
			}
		})
	}
}

func TestMissingNamesTheDebianPackage(t *testing.T) {
	got := missing([]string{"google-chrome", "chromium"})
	if want := "install the Debian package chromium"; !strings.Contains(got, want) {
		t.Errorf("got %q, want it to say %q", got, want)
	}
}

func TestProcessLogsAndStops(t *testing.T) {
	sh := Binary(t, "sh")
	dir := t.TempDir()
	first := StartProcess(t, dir, "loop", sh, "-c", "echo first; exec sleep 60")
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(first.Tail(100), "first"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s the log holds %q, want \"first\"", first.Tail(100))
		}
	}
	first.Stop()
	<-first.Exited()
	second := StartProcess(t, dir, "loop", sh, "-c", "echo second")
	<-second.Exited()
	if got := second.Tail(100); got != "second\n" {
		t.Errorf("second run's tail: got %q, want only its own output %q", got, "second\n")
	}
}
