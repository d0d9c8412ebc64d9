package main

import "testing"

func TestGCPercentGivesAFixedHeadroomWithinBounds(t *testing.T) {
	cases := []struct {
		name string
		live uint64
		want int
	}{
		{"an empty heap keeps the default", 0, 100},
		{"a small heap may double", 5 << 20, 100},
		{"a heap of the headroom's size may double", 24 << 20, 100},
		{"1,000 SLOs grow by the headroom", 55 << 20, 43},
		{"a large heap grows by at least a quarter", 1 << 30, 25},
	}
	for _, c := range cases {
		if got := gcPercent(c.live); got != c.want {
			t.Errorf("%s: gcPercent(%d) = %d, want %d", c.name, c.live, got, c.want)
		}
	}
}
