package gate

import (
	"testing"
)

// commitCases are messages as real tools and people write them.
var commitCases = []struct {
	name     string
	message  string
	typ      string
	breaking bool
}{
	// Angular / conventional-changelog / semantic-release.
	{"an Angular fix with a scope is a fix", "fix(api): handle expired tokens", "fix", false},
	{"a feature without a scope is a feat", "feat: add invoice export", "feat", false},
	{"a bang after the scope marks a breaking feature", "feat(api)!: drop the v1 endpoints", "feat", true},
	{"a bang without a scope marks a breaking fix", "fix!: reject unsigned webhooks", "fix", true},
	{"a BREAKING CHANGE footer marks a breaking change", "refactor(auth): use the new session store\n\nMove sessions to redis.\n\nBREAKING CHANGE: sessions from before the deploy are dropped", "refactor", true},
	{"a BREAKING-CHANGE footer marks a breaking change", "feat: new config format\n\nBREAKING-CHANGE: the old format is no longer read", "feat", true},
	{"a lowercase breaking change footer does not count", "fix: typo\n\nbreaking change: none really", "fix", false},
	{"a conventional revert is a revert", "revert: feat(checkout): one-click buy\n\nThis reverts commit 3f2c1a9.", "revert", false},
	{"a capitalized type is lowercased", "Fix(checkout): double charge on retry", "fix", false},
	{"an uppercase type is lowercased", "FEAT: dark mode", "feat", false},
	{"a docs change is docs", "docs(readme): explain the gate", "docs", false},
	{"a release commit is a chore", "chore(release): 1.4.0 [skip ci]", "chore", false},
	{"a perf change is perf", "perf(budget): avoid allocating per minute", "perf", false},
	{"a ci change is ci", "ci: run the race detector", "ci", false},
	{"a test change is test", "test: cover DST transitions", "test", false},
	{"a style change is style", "style: gofmt", "style", false},
	{"a sloppy fix without a space is still a fix", "fix:typo in error message", "fix", false},
	{"an unknown type is returned lowercased", "Security: rotate the signing key", "security", false},
	{"hotfix counts as fix", "hotfix: restore the payment callback", "fix", false},
	{"bugfix with a scope counts as fix", "bugfix(search): empty results on page 2", "fix", false},
	{"feature counts as feat", "feature: saved searches", "feat", false},
	// Bots.
	{"dependabot with the build prefix is build", "build(deps): bump golang.org/x/net from 0.23.0 to 0.33.0\n\nBumps [golang.org/x/net](https://github.com/golang/net) from 0.23.0 to 0.33.0.\n- [Commits](https://github.com/golang/net/compare/v0.23.0...v0.33.0)\n\n---\nupdated-dependencies:\n- dependency-name: golang.org/x/net\n  dependency-type: direct:production\n...\n\nSigned-off-by: dependabot[bot] <support@github.com>", "build", false},
	{"dependabot without a prefix is free text", "Bump lodash from 4.17.15 to 4.17.21", "", false},
	{"renovate is a chore", "chore(deps): update dependency eslint to v9", "chore", false},
	{"renovate's major update with a bang is breaking", "fix(deps)!: update module github.com/labstack/echo/v4 to v5", "fix", true},
	// Squash merges and merges.
	{"a GitHub squash merge title keeps its type", "fix(checkout): retry payment callbacks (#1234)\n\n* fix: retry\n* test: cover retries", "fix", false},
	{"a GitHub merge takes the PR title from the body", "Merge pull request #12 from acme/login-crash\n\nfix(auth): login crash on expired session", "fix", false},
	{"a GitHub merge without a typed title takes the branch prefix", "Merge pull request #12 from acme/fix/login-crash\n\nLogin crash", "fix", false},
	{"a GitHub merge of a hotfix branch is a fix", "Merge pull request #7 from acme/hotfix-payment", "fix", false},
	{"a GitHub merge of a revert branch is a revert", "Merge pull request #13 from acme/revert-12-feature/one-click\n\nRevert \"feat: one-click buy\"", "revert", false},
	{"a GitHub merge of an unknown branch is a merge", "Merge pull request #99 from acme/dependabot/go_modules/golang.org/x/net-0.33.0", "merge", false},
	{"a GitLab merge takes the MR title", "Merge branch 'feature/saved-search' into 'main'\n\nfeat(search): saved searches\n\nSee merge request acme/shop!42", "feat", false},
	{"a GitLab merge with a plain title takes the branch", "Merge branch 'fix/rounding' into 'main'\n\nRound totals half-even\n\nSee merge request acme/shop!43", "fix", false},
	{"a local merge of main is a merge", "Merge branch 'main' into feature/x", "merge", false},
	{"a remote-tracking merge drops the remote", "Merge remote-tracking branch 'origin/bugfix/npe'", "fix", false},
	{"a Bitbucket merge takes the branch", "Merged in hotfix/PAY-12-null-amount (pull request #88)\n\nApproved-by: Jane", "fix", false},
	{"a merge with a breaking PR title is breaking", "Merge pull request #5 from acme/v2\n\nfeat!: v2 API", "feat", true},
	// Reverts.
	{"git's default revert is a revert", "Revert \"feat: add one-click buy\"\n\nThis reverts commit 7b1e5a0c2f3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f.", "revert", false},
	{"GitHub's revert of a squash merge is a revert", "Revert \"feat(checkout): one-click buy (#1201)\" (#1210)\n\nThis reverts commit 0a1b2c3.", "revert", false},
	{"a revert of a breaking change is a revert and not breaking", "Revert \"feat!: drop v1\"", "revert", false},
	{"a revert of a revert brings back the original type", "Revert \"Revert \"feat: add one-click buy\"\"\n\nThis reverts commit 1234567.", "feat", false},
	{"git's reapply brings back the original type", "Reapply \"fix: retry payment callbacks\"\n\nThis reverts commit 89abcde.", "fix", false},
	{"a free-text subject with a revert body is a revert", "Undo the cache change\n\nThis reverts commit 89abcde.", "revert", false},
	// Decorations.
	{"a gitmoji before a type is skipped", "🐛 fix: avoid double charge", "fix", false},
	{"a gitmoji alone gives the type", "🐛 Avoid double charge", "fix", false},
	{"an ambulance gitmoji is a hotfix", "🚑️ Restore checkout", "fix", false},
	{"a gitmoji shortcode gives the type", ":sparkles: Saved searches", "feat", false},
	{"a shortcode before a type is skipped", ":bug: fix(api): nil pointer", "fix", false},
	{"a boom gitmoji marks a breaking change", "💥 Remove the v1 API", "", true},
	{"a ticket tag before the type is skipped", "[PAY-123] fix: round amounts", "fix", false},
	{"leading whitespace and blank lines are skipped", "\n\n   fix: trailing newline\n", "fix", false},
	{"a fixup takes the inner type", "fixup! feat(search): saved searches", "feat", false},
	{"a squash of a fix is a fix", "squash! fix: retry", "fix", false},
	{"Windows line endings are fine", "fix: crlf\r\n\r\nBREAKING CHANGE: none\r\n", "fix", true},
	// Not typed.
	{"free text is not typed", "Fix login crash", "", false},
	{"WIP is not typed", "WIP: login", "", false},
	{"a URL is not a type", "https://example.com/issue/12 fixed", "", false},
	{"a ticket key is not a type", "PAY-123: round amounts", "", false},
	{"an empty message is not typed", "", "", false},
	{"a sentence with a colon later is not typed", "Make checkout faster: cache prices", "", false},
	{"an unclosed scope is not typed", "fix(api: oops", "", false},
}

func TestParseChangeTypeReadsRealWorldMessages(t *testing.T) {
	for _, tt := range commitCases {
		t.Run(tt.name, func(t *testing.T) {
			typ, breaking := ParseChangeType(tt.message)
			if typ != tt.typ || breaking != tt.breaking {
				t.Errorf("ParseChangeType(%q) = %q, %v; want %q, %v", tt.message, typ, breaking, tt.typ, tt.breaking)
			}
		})
	}
}

func TestParseChangeTypeDoesNotAllocate(t *testing.T) {
	for _, tt := range commitCases {
		if tt.typ == "security" {
			continue // an unknown capitalized type is lowercased into a new string
		}
		if n := testing.AllocsPerRun(100, func() { ParseChangeType(tt.message) }); n != 0 {
			t.Errorf("ParseChangeType(%q) allocates %v times, want 0", tt.message, n)
		}
	}
}

func TestNormalizeChangeType(t *testing.T) {
	tests := []struct {
		name, in string
		typ      string
		breaking bool
		ok       bool
	}{
		{"a lowercase type is kept", "fix", "fix", false, true},
		{"an uppercase type is lowercased", "REVERT", "revert", false, true},
		{"an alias is mapped", "Hotfix", "fix", false, true},
		{"a bang marks it breaking", "feat!", "feat", true, true},
		{"surrounding spaces are trimmed", " fix ", "fix", false, true},
		{"an unknown word is kept lowercased", "Security", "security", false, true},
		{"an empty type is an error", "", "", false, false},
		{"a type with a scope is an error", "fix(api)", "", false, false},
		{"a sentence is an error", "fix login", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, breaking, err := NormalizeChangeType(tt.in)
			if typ != tt.typ || breaking != tt.breaking || (err == nil) != tt.ok {
				t.Errorf("NormalizeChangeType(%q) = %q, %v, %v; want %q, %v, ok %v", tt.in, typ, breaking, err, tt.typ, tt.breaking, tt.ok)
			}
		})
	}
}

func BenchmarkParseChangeType(b *testing.B) {
	msg := "Merge pull request #12 from acme/fix/login-crash\n\nfix(auth): login crash on expired session\n\nBREAKING CHANGE: none"
	b.ReportAllocs()
	for b.Loop() {
		ParseChangeType(msg)
	}
}

// FuzzParseChangeType checks that no message panics the parser and that the
// type is always "" or lowercase ASCII letters.
func FuzzParseChangeType(f *testing.F) {
	for _, tt := range commitCases {
		f.Add(tt.message)
	}
	f.Add("Revert \"Revert \"Revert \"")
	f.Add(":::::: [[[[ fixup!squash!")
	f.Add("\xff\xfe fix: x")
	f.Fuzz(func(t *testing.T, message string) {
		typ, _ := ParseChangeType(message)
		for i := 0; i < len(typ); i++ {
			if c := typ[i]; c < 'a' || c > 'z' {
				t.Fatalf("ParseChangeType(%q) = %q, want lowercase ASCII letters", message, typ)
			}
		}
	})
}
