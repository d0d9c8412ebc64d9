package slo

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// Fingerprint identifies what the SLI measures: its source and its parsed
// selectors, so that spelling a selector differently (spaces, matcher
// order) keeps it, while selecting other series or another histogram bucket
// changes it. An SLO's stored minute buckets only make sense under the
// fingerprint they were counted with. It needs a validated SLI.
func (s SLI) Fingerprint() string {
	var b strings.Builder
	switch {
	case s.Push != nil:
		b.WriteString("push")
	case s.Ratio != nil:
		b.WriteString("ratio source=" + s.Source)
		writeMatchers(&b, "good", s.Ratio.GoodMatchers)
		writeMatchers(&b, "bad", s.Ratio.BadMatchers)
		writeMatchers(&b, "total", s.Ratio.TotalMatchers)
	case s.Latency != nil:
		b.WriteString("latency source=" + s.Source + " threshold=" + strconv.FormatFloat(s.Latency.Threshold, 'g', -1, 64))
		writeMatchers(&b, "bucket", s.Latency.BucketMatchers)
		writeMatchers(&b, "count", s.Latency.CountMatchers)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:8])
}

func writeMatchers(b *strings.Builder, name string, ms []*labels.Matcher) {
	if len(ms) == 0 {
		return
	}
	texts := make([]string, len(ms))
	for i, m := range ms {
		texts[i] = m.String()
	}
	slices.Sort(texts)
	b.WriteString(" " + name + "={" + strings.Join(texts, ",") + "}")
}
