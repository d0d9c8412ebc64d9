package slo

import (
	"fmt"
	"slices"
	"testing"
)

func TestSuggest(t *testing.T) {
	services := []string{"checkout", "search", "orders", "order-history", "payments"}
	tests := []struct {
		name  string
		input string
		known []string
		want  []string
	}{
		{"a typo suggests the name meant", "chekout", services, []string{"checkout"}},
		{"case is ignored", "CHECKOUT", services, []string{"checkout"}},
		{"a name within two edits is close even when short", "serch", services, []string{"search"}},
		{"a part of a name suggests the names containing it", "pay", services, []string{"payments"}},
		{"a name that contains a known one suggests it", "checkout-api", services, []string{"checkout"}},
		{"the closest come first", "order", services, []string{"orders", "order-history"}},
		{"a name under three characters suggests no name just for containing it", "ab", []string{"abc", "xxabxx"}, []string{"abc"}},
		{"at most three are suggested", "svc", []string{"svc1", "svc2", "svc3", "svc4"}, []string{"svc1", "svc2", "svc3"}},
		{"nothing close suggests nothing", "billing", services, nil},
		{"no known names suggest nothing", "checkout", nil, nil},
		{"distance counts runes, not bytes", "café", []string{"cafe"}, []string{"cafe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Suggest(tt.input, tt.known); !slices.Equal(got, tt.want) {
				t.Errorf("Suggest(%q, %q) = %q, want %q", tt.input, tt.known, got, tt.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"latency", "latncy", 1},
		{"héllo", "hello", 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q to %q is %d edits", tt.a, tt.b, tt.want), func(t *testing.T) {
			if got := editDistance(tt.a, tt.b); got != tt.want {
				t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func ExampleSuggest() {
	fmt.Println(Suggest("chekout", []string{"search", "checkout", "payments"}))
	// Output: [checkout]
}
