package gate

import (
	"math"
	"testing"

	"github.com/slogate/slogate/budget"
)

// bad builds counts from totals and bad events.
func bad(total, bad float64) budget.Counts { return budget.Counts{Good: total - bad, Total: total} }

func TestClassifyImpact(t *testing.T) {
	tests := []struct {
		name          string
		before, after budget.Counts
		minEvents     float64
		class         string
		z             float64 // computed by hand below; NaN to skip
	}{
		// p1 = 0.01, p2 = 0.03, pooled p = 40/2000 = 0.02,
		// SE = sqrt(0.02 × 0.98 × (1/1000 + 1/1000)) = sqrt(0.0000392) = 0.0062610,
		// z = 0.02 / 0.0062610 = 3.1944, two-sided p = 0.0014.
		{"an error ratio tripling on 1,000 requests is degraded", bad(1000, 10), bad(1000, 30), 100, ImpactDegraded, 3.1944},
		// p1 = 0.02, p2 = 0.011, pooled p = 62/4000 = 0.0155,
		// SE = sqrt(0.0155 × 0.9845 × 0.001) = 0.0039064,
		// z = -0.009 / 0.0039064 = -2.3039, two-sided p = 0.021: significant
		// at 5% but not at the gate's 1%.
		{"a drop significant only at 5% is neutral", bad(2000, 40), bad(2000, 22), 100, ImpactNeutral, -2.3039},
		// p1 = 0.02, p2 = 0.01, pooled p = 0.015,
		// SE = sqrt(0.015 × 0.985 × 0.0002) = 0.0017190, z = -5.8173.
		{"an error ratio halving on 10,000 requests is improved", bad(10000, 200), bad(10000, 100), 100, ImpactImproved, -5.8173},
		// p1 = 0.1%, p2 = 0.105%, pooled p = 0.001025,
		// SE = sqrt(0.001025 × 0.998975 × 2e-7) = 1.43105e-5, z = 3.4939:
		// significant, but 0.005 points and 1.05 times are not material.
		{"a trivial rise on ten million requests is neutral", bad(1e7, 10000), bad(1e7, 10500), 100, ImpactNeutral, 3.4939},
		// p1 = 0.001%, p2 = 0.05%, pooled p = 0.000255,
		// SE = sqrt(0.000255 × 0.999745 × 2e-5) = 7.1405e-5, z = 6.8623:
		// under 0.1 points, but fifty times the ratio.
		{"a fiftyfold rise far below 0.1 points is degraded", bad(1e5, 1), bad(1e5, 50), 100, ImpactDegraded, 6.8623},
		{"no bad events on either side is neutral", bad(5000, 0), bad(5000, 0), 100, ImpactNeutral, 0},
		{"only bad events on both sides is neutral", bad(500, 500), bad(500, 500), 100, ImpactNeutral, 0},
		{"too few events after the deploy is insufficient data", bad(1000, 10), bad(99, 50), 100, ImpactInsufficientData, 0},
		{"too few events before the deploy is insufficient data", bad(0, 0), bad(1000, 0), 100, ImpactInsufficientData, 0},
		{"no events at all with no minimum is insufficient data", bad(0, 0), bad(0, 0), 0, ImpactInsufficientData, 0},
		{"counts that are not numbers are insufficient data", budget.Counts{Good: math.NaN(), Total: 1000}, bad(1000, 0), 100, ImpactInsufficientData, 0},
		{"more good than total counts as no bad events", budget.Counts{Good: 1200, Total: 1000}, bad(1000, 0), 100, ImpactNeutral, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := ClassifyImpact("availability", tt.before, tt.after, tt.minEvents)
			if im.Class != tt.class {
				t.Errorf("class = %s, want %s (z %.4f, p %.4g)", im.Class, tt.class, im.Z, im.PValue)
			}
			if math.Abs(im.Z-tt.z) > 5e-4 {
				t.Errorf("z = %.4f, want %.4f", im.Z, tt.z)
			}
			if math.IsNaN(im.Z) || math.IsNaN(im.PValue) || im.PValue < 0 || im.PValue > 1 {
				t.Errorf("z = %v, p = %v, want finite numbers with p in [0, 1]", im.Z, im.PValue)
			}
			if im.SLO != "availability" {
				t.Errorf("slo = %q, want availability", im.SLO)
			}
		})
	}
}

func TestClassifyImpactPValueMatchesTheNormalTable(t *testing.T) {
	// z = 3.1944 has a two-sided p of 2 × (1 − Φ(3.1944)) = 0.0014.
	im := ClassifyImpact("a", bad(1000, 10), bad(1000, 30), 100)
	if math.Abs(im.PValue-0.0014) > 5e-5 {
		t.Errorf("p = %.5f, want 0.0014", im.PValue)
	}
	if im.BeforeErrorRatio == nil || *im.BeforeErrorRatio != 0.01 || im.AfterErrorRatio == nil || *im.AfterErrorRatio != 0.03 {
		t.Errorf("ratios = %v, %v, want 0.01 and 0.03", im.BeforeErrorRatio, im.AfterErrorRatio)
	}
	if im.BeforeBad != 10 || im.AfterBad != 30 || im.BeforeTotal != 1000 || im.AfterTotal != 1000 {
		t.Errorf("counts = %+v", im)
	}
}

func TestWorstImpact(t *testing.T) {
	tests := []struct {
		name    string
		classes []string
		want    string
	}{
		{"one degraded SLO makes the deploy degraded", []string{ImpactImproved, ImpactDegraded, ImpactNeutral}, ImpactDegraded},
		{"an improvement beats neutral", []string{ImpactNeutral, ImpactImproved, ImpactInsufficientData}, ImpactImproved},
		{"neutral beats insufficient data", []string{ImpactInsufficientData, ImpactNeutral}, ImpactNeutral},
		{"only insufficient data stays insufficient", []string{ImpactInsufficientData}, ImpactInsufficientData},
		{"no impacts is insufficient data", nil, ImpactInsufficientData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ims []Impact
			for _, c := range tt.classes {
				ims = append(ims, Impact{Class: c})
			}
			if got := WorstImpact(ims); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
