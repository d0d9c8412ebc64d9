package gate

import (
	"strings"
	"unicode/utf8"
)

// Change types ParseChangeType knows, returned as these constants so that
// parsing does not allocate whatever the input's case.
const (
	typeFeat     = "feat"
	typeFix      = "fix"
	typeRevert   = "revert"
	typeChore    = "chore"
	typeDocs     = "docs"
	typeRefactor = "refactor"
	typePerf     = "perf"
	typeTest     = "test"
	typeBuild    = "build"
	typeCI       = "ci"
	typeStyle    = "style"
	typeMerge    = "merge"
)

var knownTypes = [...]string{
	typeFeat, typeFix, typeRevert, typeChore, typeDocs, typeRefactor,
	typePerf, typeTest, typeBuild, typeCI, typeStyle, typeMerge,
}

// typeAliases maps words teams use for the known types. A hotfix is a fix:
// it is exactly what should go out during a slow-down, and mapping it keeps
// the default allowed list (fix, revert) right without listing every
// spelling.
var typeAliases = [...]struct{ alias, typ string }{
	{"hotfix", typeFix}, {"bugfix", typeFix}, {"feature", typeFeat},
	{"doc", typeDocs}, {"tests", typeTest},
}

// maxTypeLen bounds a type word: longer words are prose, not types.
const maxTypeLen = 32

// ParseChangeType reads a commit message's change type the way
// Conventional Commits tooling (conventional-changelog, semantic-release,
// commitlint) does, and tolerates what real histories contain. It returns
// a lowercase type, or "" when the message says none, and whether the
// change is breaking. Only the first line decides the type:
//
//   - "type(scope)!: subject", "type!: subject", "type: subject", with the
//     type in any case; hotfix and bugfix count as fix, feature as feat;
//     "WIP: ..." is no type;
//   - gitmoji and ticket prefixes are skipped ("🐛 fix: ...",
//     ":sparkles: feat: ...", "[PROJ-12] fix: ..."), and a gitmoji alone
//     gives the type (🐛 and 🚑 fix, ✨ feat, ⏪ revert, 📝 docs, ♻ refactor,
//     ⚡ perf, ✅ test, 👷 ci; 💥 marks a breaking change);
//   - "fixup! ", "squash! " and "amend! " are skipped: the type is the
//     commit's being fixed up;
//   - git's and GitHub's `Revert "..."` is revert, and so is a message
//     whose body says "This reverts commit <sha>."; a revert of a revert
//     (`Revert "Revert "..."`, or git's `Reapply "..."`) has the type of the
//     change it brings back;
//   - a merge commit ("Merge pull request #12 from org/fix/login-crash",
//     "Merge branch 'fix/x' into 'main'", Bitbucket's "Merged in fix/x")
//     takes its type from the pull request title that GitHub and GitLab
//     put in the body, else from the branch's prefix (fix/, hotfix-,
//     feature/, revert-12-...), else it is "merge";
//   - anything else, such as "Fix login crash", is free text: "".
//
// A change is breaking when its header has "!" before the colon, its
// gitmoji is 💥, or any line of the message starts with "BREAKING CHANGE:"
// or "BREAKING-CHANGE:" (uppercase, as the specification requires).
//
// It does not allocate unless the type is an unknown word with capitals
// ("Security: ..."), which it lowercases. It never panics on any input.
func ParseChangeType(message string) (typ string, breaking bool) {
	message = strings.TrimLeft(message, " \t\r\n")
	header, body, _ := strings.Cut(message, "\n")
	header = strings.TrimSuffix(header, "\r")
	typ, breaking = parseHeader(header, body)
	return typ, breaking || hasBreakingFooter(message)
}

func parseHeader(h, body string) (string, bool) {
	h, emoji, emojiBreaking := stripPrefixes(h)
	if rest, n := stripReverts(h); n > 0 {
		if n%2 == 1 {
			return typeRevert, false
		}
		inner, innerEmoji, innerBreaking := stripPrefixes(rest)
		if t, b, ok := parseConventional(inner); ok {
			return t, b || innerBreaking
		}
		return innerEmoji, innerBreaking
	}
	if branch, ok := mergeBranch(h); ok {
		return mergeType(branch, body)
	}
	if t, b, ok := parseConventional(h); ok {
		return t, b || emojiBreaking
	}
	if emoji != "" || emojiBreaking {
		return emoji, emojiBreaking
	}
	if revertsCommit(body) {
		return typeRevert, false
	}
	return "", false
}

// stripPrefixes skips what tools and habits put before the type: spaces,
// gitmoji (as emoji or :shortcode:), [TICKET-1] tags and autosquash
// markers. It returns the first gitmoji's type and whether one was 💥.
func stripPrefixes(h string) (rest, emojiType string, emojiBreaking bool) {
	for {
		h = strings.TrimLeft(h, " \t")
		switch {
		case h == "":
			return h, emojiType, emojiBreaking
		case h[0] >= utf8.RuneSelf:
			// Emoji, their variation selectors and joiners, and any
			// other non-ASCII decoration.
			r, size := utf8.DecodeRuneInString(h)
			t, b := gitmoji("", r)
			if emojiType == "" {
				emojiType = t
			}
			emojiBreaking = emojiBreaking || b
			h = h[size:]
		case h[0] == ':':
			end := strings.IndexByte(h[1:], ':') + 1
			if end < 2 || end > 40 || !isShortcode(h[1:end]) {
				return h, emojiType, emojiBreaking
			}
			t, b := gitmoji(h[1:end], 0)
			if emojiType == "" {
				emojiType = t
			}
			emojiBreaking = emojiBreaking || b
			h = h[end+1:]
		case h[0] == '[':
			end := strings.IndexByte(h, ']')
			if end < 0 || end > 40 {
				return h, emojiType, emojiBreaking
			}
			h = h[end+1:]
		case hasPrefixFold(h, "fixup!"):
			h = h[len("fixup!"):]
		case hasPrefixFold(h, "squash!"):
			h = h[len("squash!"):]
		case hasPrefixFold(h, "amend!"):
			h = h[len("amend!"):]
		default:
			return h, emojiType, emojiBreaking
		}
	}
}

func isShortcode(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '+') {
			return false
		}
	}
	return true
}

// gitmoji maps a gitmoji, by shortcode or by rune, to a change type and
// whether it marks a breaking change.
func gitmoji(code string, r rune) (typ string, breaking bool) {
	switch {
	case code == "bug" || r == '🐛', code == "ambulance" || r == '🚑':
		return typeFix, false
	case code == "sparkles" || r == '✨':
		return typeFeat, false
	case code == "rewind" || r == '⏪':
		return typeRevert, false
	case code == "memo" || r == '📝':
		return typeDocs, false
	case code == "recycle" || r == '♻':
		return typeRefactor, false
	case code == "zap" || r == '⚡':
		return typePerf, false
	case code == "white_check_mark" || r == '✅':
		return typeTest, false
	case code == "construction_worker" || r == '👷':
		return typeCI, false
	case code == "boom" || r == '💥':
		return "", true
	}
	return "", false
}

// stripReverts removes leading `Revert "` (git, GitHub, GitLab) and
// `Reapply "` (git's revert of a revert) and counts the reverts.
func stripReverts(h string) (rest string, reverts int) {
	for {
		switch {
		case hasPrefixFold(h, `revert "`):
			h, reverts = h[len(`revert "`):], reverts+1
		case hasPrefixFold(h, `reapply "`):
			h, reverts = h[len(`reapply "`):], reverts+2
		default:
			return h, reverts
		}
	}
}

// revertsCommit reports whether a body has git's "This reverts commit
// <sha>." line.
func revertsCommit(body string) bool {
	for body != "" {
		var line string
		line, body, _ = strings.Cut(body, "\n")
		if strings.HasPrefix(strings.TrimLeft(line, " \t"), "This reverts commit ") {
			return true
		}
	}
	return false
}

// hasBreakingFooter reports whether any line starts with a breaking-change
// token.
func hasBreakingFooter(message string) bool {
	for message != "" {
		var line string
		line, message, _ = strings.Cut(message, "\n")
		line = strings.TrimLeft(line, " \t")
		if strings.HasPrefix(line, "BREAKING CHANGE:") || strings.HasPrefix(line, "BREAKING-CHANGE:") {
			return true
		}
	}
	return false
}

// mergeBranch recognizes the merge commit subjects of git, GitHub, GitLab
// and Bitbucket and returns the merged branch without its remote or fork
// owner ("" when the subject names none, as "Merge tag ..." does).
func mergeBranch(h string) (branch string, ok bool) {
	switch {
	case hasPrefixFold(h, "Merge pull request "):
		_, from, found := strings.Cut(h, " from ")
		if !found {
			return "", true
		}
		return dropFirstSegment(firstWord(from)), true
	case hasPrefixFold(h, "Merge remote-tracking branch '"):
		b, _, _ := strings.Cut(h[len("Merge remote-tracking branch '"):], "'")
		return dropFirstSegment(b), true
	case hasPrefixFold(h, "Merge branch '"):
		b, _, _ := strings.Cut(h[len("Merge branch '"):], "'")
		return b, true
	case hasPrefixFold(h, "Merged in "):
		return firstWord(h[len("Merged in "):]), true
	case hasPrefixFold(h, "Merge tag "), hasPrefixFold(h, "Merge commit "), hasPrefixFold(h, "Merge branches "):
		return "", true
	}
	return "", false
}

// mergeType types a merge commit: from the pull request title in its body,
// else from the branch's prefix, else "merge".
func mergeType(branch, body string) (string, bool) {
	for body != "" {
		var line string
		line, body, _ = strings.Cut(body, "\n")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		line, emoji, emojiBreaking := stripPrefixes(line)
		if rest, n := stripReverts(line); n%2 == 1 {
			return typeRevert, false
		} else if n > 0 {
			line = rest
		}
		if t, b, ok := parseConventional(line); ok && t != "" {
			return t, b || emojiBreaking
		}
		if emoji != "" {
			return emoji, emojiBreaking
		}
		break // only the first line of the body can be a title
	}
	if t := branchType(branch); t != "" {
		return t, false
	}
	return typeMerge, false
}

// branchType reads a type from a branch name's first word when a separator
// follows it: fix/login, hotfix-123, feature/x, revert-12-fix/login.
func branchType(branch string) string {
	i := 0
	for i < len(branch) && isLetter(branch[i]) {
		i++
	}
	if i == 0 || (i < len(branch) && !strings.ContainsRune("/-_", rune(branch[i]))) {
		return ""
	}
	if t, ok := canonicalType(branch[:i]); ok && t != typeMerge {
		return t
	}
	return ""
}

// parseConventional parses "type(scope)!: subject". ok is false when h
// does not have that shape.
func parseConventional(h string) (typ string, breaking, ok bool) {
	i := 0
	for i < len(h) && isLetter(h[i]) {
		i++
	}
	if i == 0 || i > maxTypeLen {
		return "", false, false
	}
	word, rest := h[:i], h[i:]
	if strings.HasPrefix(rest, "!") {
		breaking, rest = true, rest[1:]
	}
	if strings.HasPrefix(rest, "(") {
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return "", false, false
		}
		rest = rest[end+1:]
	}
	if strings.HasPrefix(rest, "!") {
		breaking, rest = true, rest[1:]
	}
	if !strings.HasPrefix(rest, ":") {
		return "", false, false
	}
	rest = rest[1:]
	_, known := canonicalType(word)
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' && !known {
		// "http://..." or "Note:x" is prose; "fix:typo" is a sloppy fix.
		return "", false, false
	}
	if strings.EqualFold(word, "wip") {
		return "", false, true
	}
	return lowerType(word), breaking, true
}

// canonicalType returns the constant for a known type or alias in any case.
func canonicalType(word string) (string, bool) {
	for _, t := range knownTypes {
		if strings.EqualFold(word, t) {
			return t, true
		}
	}
	for _, a := range typeAliases {
		if strings.EqualFold(word, a.alias) {
			return a.typ, true
		}
	}
	return "", false
}

// lowerType returns an ASCII word as a lowercase type, allocating only for
// unknown words with capitals.
func lowerType(word string) string {
	if t, ok := canonicalType(word); ok {
		return t
	}
	for i := 0; i < len(word); i++ {
		if c := word[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(word)
		}
	}
	return word
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func allLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isLetter(s[i]) {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}

// dropFirstSegment drops "owner/" or "origin/" from "owner/fix/x".
func dropFirstSegment(s string) string {
	if _, after, ok := strings.Cut(s, "/"); ok {
		return after
	}
	return s
}
