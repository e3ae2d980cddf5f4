package converger

import (
	"slices"
	"testing"

	"github.com/diego-go/diego/src/bbs/store"
)

// TestRanges: the ranges hold at most n desired guids each, follow one
// another without gap or overlap, and are open at both ends, so that every
// process guid, desired or not, falls in exactly one.
func TestRanges(t *testing.T) {
	guids := []string{"b", "d", "f", "h", "j", "l", "n"}
	for _, tc := range []struct {
		n    int
		want []store.GuidRange
	}{
		{0, []store.GuidRange{{}}},
		{7, []store.GuidRange{{}}},
		{100, []store.GuidRange{{}}},
		{3, []store.GuidRange{{To: "h"}, {From: "h", To: "n"}, {From: "n"}}},
		{2, []store.GuidRange{{To: "f"}, {From: "f", To: "j"}, {From: "j", To: "n"}, {From: "n"}}},
		{1, []store.GuidRange{{To: "d"}, {From: "d", To: "f"}, {From: "f", To: "h"}, {From: "h", To: "j"}, {From: "j", To: "l"}, {From: "l", To: "n"}, {From: "n"}}},
	} {
		got := ranges(guids, tc.n)
		if !slices.Equal(got, tc.want) {
			t.Errorf("ranges(%d) = %+v, want %+v", tc.n, got, tc.want)
		}
		for _, g := range []string{"", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "z"} {
			in := 0
			for _, r := range got {
				if r.Contains(g) {
					in++
				}
			}
			if in != 1 {
				t.Errorf("ranges(%d): %q lies in %d ranges, want 1", tc.n, g, in)
			}
		}
		for _, r := range got {
			held := 0
			for _, d := range guids {
				if r.Contains(d) {
					held++
				}
			}
			if tc.n > 0 && held > tc.n {
				t.Errorf("ranges(%d): %+v holds %d desired guids", tc.n, r, held)
			}
		}
	}
	if got := ranges(nil, 2); !slices.Equal(got, []store.GuidRange{{}}) {
		t.Errorf("ranges(nil) = %+v, want one open range", got)
	}
}
