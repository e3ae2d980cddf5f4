package golden

import (
	"errors"
	"slices"
	"testing"
)

func TestInstance(t *testing.T) {
	g, i, err := Instance("web/2")
	if err != nil || g != "web" || i != 2 {
		t.Fatalf("Instance(web/2) = %q, %d, %v", g, i, err)
	}
	for _, bad := range []string{"web", "web/x", "web/"} {
		if _, _, err := Instance(bad); err == nil {
			t.Errorf("Instance(%q) did not fail", bad)
		}
	}
}

func TestEachLine(t *testing.T) {
	run := EachLine(func(l string) (string, error) {
		if l == "bad" {
			return "", errors.New("bad line")
		}
		return "<" + l + ">", nil
	})
	got, err := run(&Block{Input: []string{"a", "b c"}})
	if err != nil || !slices.Equal(got, []string{"a -> <a>", "b c -> <b c>"}) {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := run(&Block{Input: []string{"a", "bad"}}); err == nil {
		t.Fatal("a failing line did not fail the block")
	}
}
