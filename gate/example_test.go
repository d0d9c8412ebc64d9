package gate_test

import (
	"fmt"

	"github.com/slogate/slogate/gate"
)

func ExampleParseChangeType() {
	for _, msg := range []string{
		"fix(api): handle expired tokens (#1234)",
		"feat!: drop the v1 endpoints",
		"Revert \"feat: one-click buy\"\n\nThis reverts commit 3f2c1a9.",
		"Merge pull request #12 from acme/hotfix/login-crash",
		"🐛 Avoid double charge",
		"Fix login crash",
	} {
		typ, breaking := gate.ParseChangeType(msg)
		fmt.Printf("%q breaking=%v\n", typ, breaking)
	}
	// Output:
	// "fix" breaking=false
	// "feat" breaking=true
	// "revert" breaking=false
	// "fix" breaking=false
	// "fix" breaking=false
	// "" breaking=false
}
