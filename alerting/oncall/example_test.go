package oncall_test

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/alerting/oncall"
	"github.com/slogate/slogate/slo"
)

// A weekly rotation handing off on Monday at 09:00 in Berlin keeps that
// local time across the DST change on 29 March 2026, and an override puts
// someone else on call.
func ExampleDirectory_OnCall() {
	cfg := &slo.Config{
		People: []slo.Person{{Name: "Alice"}, {Name: "Bob"}, {Name: "Carol"}},
		Teams: []slo.Team{{
			Name:    "payments",
			Members: []string{"Alice", "Bob"},
			Rotation: &slo.Rotation{
				Shift:    model.Duration(7 * 24 * time.Hour),
				Handoff:  slo.Handoff{Weekday: "mon", Time: "09:00"},
				TimeZone: "Europe/Berlin",
				Start:    "2026-03-23",
			},
			Overrides: []slo.Override{{
				Person: "Carol", Covers: "Bob",
				Start: time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC),
				End:   time.Date(2026, 4, 2, 7, 0, 0, 0, time.UTC),
			}},
		}},
	}
	d, err := oncall.New(cfg)
	if err != nil {
		panic(err)
	}
	for _, now := range []string{"2026-03-28T12:00:00Z", "2026-04-01T12:00:00Z"} {
		t, _ := time.Parse(time.RFC3339, now)
		oc, err := d.OnCall("payments", t)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %s until %s; next %s\n", now, oc.Current.Why, oc.Current.Until.UTC().Format(time.RFC3339), oc.Next.Person)
	}
	// Output:
	// 2026-03-28T12:00:00Z: Alice's weekly shift since Mon 23 Mar 09:00 Europe/Berlin until 2026-03-30T07:00:00Z; next Bob
	// 2026-04-01T12:00:00Z: Carol covers Bob until Thu 2 Apr 09:00 Europe/Berlin until 2026-04-02T07:00:00Z; next Bob
}
