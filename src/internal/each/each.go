// Package each applies a function to every element of a slice: in order,
// stopping at the first error (Map), or all at once, keeping every error
// (Parallel).
package each

import (
	"fmt"
	"sync"
)

// Map returns f of every x, in order. The first error stops it and is
// returned wrapped with what and the index of its element ("check 2: ...").
func Map[T, U any](xs []T, what string, f func(T) (U, error)) ([]U, error) {
	out := make([]U, 0, len(xs))
	for i, x := range xs {
		u, err := f(x)
		if err != nil {
			return nil, fmt.Errorf("%s %d: %w", what, i, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// Parallel runs f(i) for every i in [0, n), each on its own goroutine, and
// returns their errors by index once every one has returned.
func Parallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errs
}
