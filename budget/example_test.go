package budget_test

import (
	"fmt"
	"time"

	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/slo"
)

func ExampleTracker_Evaluate() {
	s := slo.SLO{Name: "availability", Objective: 99, Win: slo.Window{Rolling: time.Hour}}
	h := budget.NewHistory()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range 60 {
		m := budget.MinuteOf(now.Add(-time.Duration(i) * time.Minute))
		h.Add(m, budget.Counts{Good: 999, Total: 1000}) // 0.1% errors
	}
	tr := budget.NewTracker(s, nil, h)
	st := tr.Evaluate(now)
	fmt.Printf("SLI %.4f, %.0f of %.0f bad events allowed spent, %.0f%% left\n",
		st.SLI, st.Spent, st.Budget, 100*st.RemainingRatio)
	fmt.Printf("1h burn rate %.1f\n", st.Burn[2].Rate)
	// Output:
	// SLI 0.9990, 60 of 600 bad events allowed spent, 90% left
	// 1h burn rate 0.1
}
