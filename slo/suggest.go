package slo

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Suggest returns up to three of known that are close to name, closest
// first, for a "did you mean" hint. A known name is close when its edit
// distance from name, ignoring case, is at most max(2, len(name)/3), or,
// when name has 3 or more characters, when it contains name or is
// contained in it. Names equally close keep their order in known. It is
// safe for concurrent use.
func Suggest(name string, known []string) []string {
	type cand struct {
		name string
		d    int
	}
	lname := strings.ToLower(name)
	var cs []cand
	for _, k := range known {
		lk := strings.ToLower(k)
		d := editDistance(lname, lk)
		if d <= max(2, len(name)/3) || (len(name) >= 3 && (strings.Contains(lk, lname) || strings.Contains(lname, lk))) {
			cs = append(cs, cand{k, d})
		}
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return cmp.Compare(a.d, b.d) })
	var out []string
	for _, c := range cs[:min(len(cs), 3)] {
		out = append(out, c.name)
	}
	return out
}

// DidYouMean is Suggest as a message suffix for API errors:
// `; did you mean "a" or "b"?`, or "" when nothing is close.
func DidYouMean(name string, known []string) string {
	s := Suggest(name, known)
	if len(s) == 0 {
		return ""
	}
	for i := range s {
		s[i] = strconv.Quote(s[i])
	}
	return "; did you mean " + strings.Join(s, " or ") + "?"
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
