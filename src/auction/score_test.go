package auction

import (
	"math/rand/v2"
	"testing"
)

// TestSizeClass: totals in one class are within 1/32 of each other, so a
// request's share of the score varies little inside a group.
func TestSizeClass(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for range 100000 {
		a, b := int64(1+r.IntN(1<<20)), int64(1+r.IntN(1<<20))
		if r.IntN(2) == 0 {
			b = a + int64(r.IntN(64))
		}
		if sizeClass(a) == sizeClass(b) && 32*(max(a, b)-min(a, b)) >= min(a, b) {
			t.Fatalf("%d and %d share class %d", a, b, sizeClass(a))
		}
	}
	for _, v := range []int64{0, -1, -5} {
		if sizeClass(v) != v {
			t.Errorf("sizeClass(%d) = %d, want its own class", v, sizeClass(v))
		}
	}
	if sizeClass(65536) != sizeClass(65536+2047) || sizeClass(65536) == sizeClass(65536+2048) {
		t.Errorf("64 GB classes are 2 GB wide")
	}
}

// TestPlacementTagsReason: the reference's wording for none, one, two and
// more tags.
func TestPlacementTagsReason(t *testing.T) {
	for _, c := range []struct {
		tags []string
		want string
	}{
		{nil, "found no compatible cell with no placement tags"},
		{[]string{"a"}, `found no compatible cell with placement tag "a"`},
		{[]string{"a", "b"}, `found no compatible cell with placement tags "a" and "b"`},
		{[]string{"a", "b", "c"}, `found no compatible cell with placement tags "a", "b" and "c"`},
	} {
		if got := placementTagsReason(c.tags); got != c.want {
			t.Errorf("placementTagsReason(%q) = %q, want %q", c.tags, got, c.want)
		}
	}
}
