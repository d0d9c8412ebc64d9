package gate

import (
	"math"

	"github.com/slogate/slogate/budget"
)

// Impact classes, from worst to best as WorstImpact ranks them.
const (
	// ImpactDegraded: the error ratio rose after the deploy, significantly
	// and materially.
	ImpactDegraded = "degraded"
	// ImpactImproved: the error ratio fell, significantly and materially.
	ImpactImproved = "improved"
	// ImpactNeutral: no significant, material change.
	ImpactNeutral = "neutral"
	// ImpactInsufficientData: too few events on a side to tell.
	ImpactInsufficientData = "insufficient_data"
)

// Thresholds of ClassifyImpact.
const (
	// impactAlpha is the two-sided significance level. 1% rather than the
	// usual 5%: a deploy named degraded becomes the suspect in alerts, so
	// false alarms cost more than a missed small effect.
	impactAlpha = 0.01
	// impactMinDiff is the smallest absolute change of the error ratio, 0.1
	// percentage points, that counts as material on its own.
	impactMinDiff = 0.001
	// impactMinFactor is the smallest relative change (the ratio doubles or
	// halves) that counts as material below impactMinDiff. SLOs of 99.99%
	// live on error ratios far below 0.1%, where a tenfold rise is a real
	// degradation that an absolute floor alone would hide.
	impactMinFactor = 2
)

// Impact is a deploy's effect on one SLO's error ratio: the N minutes after
// it against the N minutes before.
type Impact struct {
	// Class is one of the Impact constants.
	Class string `json:"class"`
	// SLO names the SLO.
	SLO string `json:"slo"`
	// BeforeTotal, BeforeBad, AfterTotal and AfterBad are the event counts.
	BeforeTotal float64 `json:"before_total"`
	BeforeBad   float64 `json:"before_bad"`
	AfterTotal  float64 `json:"after_total"`
	AfterBad    float64 `json:"after_bad"`
	// BeforeErrorRatio and AfterErrorRatio are bad/total; absent without
	// events.
	BeforeErrorRatio *float64 `json:"before_error_ratio"`
	AfterErrorRatio  *float64 `json:"after_error_ratio"`
	// Z is the two-proportion z statistic, positive when the error ratio
	// rose; 0 when it cannot be computed.
	Z float64 `json:"z"`
	// PValue is the two-sided p-value of Z; 1 when it cannot be computed.
	PValue float64 `json:"p_value"`
}

// ClassifyImpact compares an SLO's error ratios before and after a deploy
// with a pooled two-proportion z-test, two-sided at alpha 0.01. The deploy
// is degraded when the ratio rose, improved when it fell, and neutral
// otherwise, counting a change only when it is significant and also
// material: at least 0.1 percentage points, or a doubling (halving), so
// that huge traffic does not turn a trivial shift into an alarm while a
// 99.99% SLO's tenfold rise still counts. With fewer than minEvents events
// (at least one) on either side it is insufficient_data. Counts that are
// not finite are insufficient data too; no input yields NaN.
func ClassifyImpact(slo string, before, after budget.Counts, minEvents float64) Impact {
	n1, b1 := counts(before)
	n2, b2 := counts(after)
	im := Impact{SLO: slo, BeforeTotal: n1, BeforeBad: b1, AfterTotal: n2, AfterBad: b2, PValue: 1}
	if n1 > 0 {
		im.BeforeErrorRatio = ptr(b1 / n1)
	}
	if n2 > 0 {
		im.AfterErrorRatio = ptr(b2 / n2)
	}
	need := max(minEvents, 1)
	if !(n1 >= need && n2 >= need) || math.IsInf(n1+n2, 0) {
		im.Class = ImpactInsufficientData
		return im
	}
	p1, p2 := b1/n1, b2/n2
	pooled := (b1 + b2) / (n1 + n2)
	se := math.Sqrt(pooled * (1 - pooled) * (1/n1 + 1/n2))
	if !(se > 0) {
		// No bad events on either side, or nothing but: nothing changed.
		im.Class = ImpactNeutral
		return im
	}
	im.Z = (p2 - p1) / se
	im.PValue = math.Erfc(math.Abs(im.Z) / math.Sqrt2)
	material := math.Abs(p2-p1) >= impactMinDiff ||
		p2 >= impactMinFactor*p1 || p1 >= impactMinFactor*p2
	switch {
	case im.PValue >= impactAlpha || !material:
		im.Class = ImpactNeutral
	case p2 > p1:
		im.Class = ImpactDegraded
	default:
		im.Class = ImpactImproved
	}
	return im
}

// counts returns total and bad events, with bad clamped to [0, total] and
// non-finite counts as none.
func counts(c budget.Counts) (total, bad float64) {
	if math.IsNaN(c.Total) || math.IsInf(c.Total, 0) || math.IsNaN(c.Good) || math.IsInf(c.Good, 0) || c.Total <= 0 {
		return 0, 0
	}
	return c.Total, min(max(c.Total-c.Good, 0), c.Total)
}

func ptr[T any](v T) *T { return &v }

// WorstImpact sums up a deploy's impacts over its SLOs: degraded if any is
// degraded, else improved if any improved, else neutral if any is neutral,
// else insufficient_data (also for none). A deploy that improves one SLO
// and degrades another is degraded: the gate cares about what got worse.
func WorstImpact(impacts []Impact) string {
	worst := ImpactInsufficientData
	for _, im := range impacts {
		if impactRank(im.Class) > impactRank(worst) {
			worst = im.Class
		}
	}
	return worst
}

func impactRank(class string) int {
	switch class {
	case ImpactDegraded:
		return 3
	case ImpactImproved:
		return 2
	case ImpactNeutral:
		return 1
	}
	return 0
}
