package each

import (
	"errors"
	"strconv"
	"sync"
	"testing"
)

func TestMap(t *testing.T) {
	got, err := Map([]string{"1", "2", "3"}, "number", strconv.Atoi)
	if err != nil || len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("Map = %v, %v", got, err)
	}
	calls := 0
	_, err = Map([]string{"1", "x", "y"}, "number", func(s string) (int, error) { calls++; return strconv.Atoi(s) })
	var ne *strconv.NumError
	if err == nil || err.Error()[:9] != "number 1:" || !errors.As(err, &ne) || calls != 2 {
		t.Fatalf("Map error = %v after %d calls; want number 1 wrapping a NumError, after 2 calls", err, calls)
	}
}

func TestParallel(t *testing.T) {
	boom := errors.New("boom")
	var started sync.WaitGroup
	started.Add(4)
	errs := Parallel(4, func(i int) error {
		started.Done()
		started.Wait() // every f runs at once: none returns before all started
		if i%2 == 1 {
			return boom
		}
		return nil
	})
	if len(errs) != 4 || errs[0] != nil || errs[1] != boom || errs[2] != nil || errs[3] != boom {
		t.Fatalf("errs = %v", errs)
	}
	if len(Parallel(0, func(int) error { return boom })) != 0 {
		t.Fatal("Parallel(0) returned errors")
	}
}
