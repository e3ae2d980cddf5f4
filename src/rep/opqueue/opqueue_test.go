package opqueue

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSerialPerKey(t *testing.T) {
	var q Queue
	var running, maxRunning atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.Do("a", func() {
				n := running.Add(1)
				for {
					m := maxRunning.Load()
					if n <= m || maxRunning.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(100 * time.Microsecond)
				running.Add(-1)
			})
		}()
	}
	wg.Wait()
	if maxRunning.Load() != 1 {
		t.Fatalf("%d operations on one key ran at once", maxRunning.Load())
	}
	if q.Len() != 0 {
		t.Fatalf("idle queue holds %d keys", q.Len())
	}
}

func TestConcurrentAcrossKeys(t *testing.T) {
	var q Queue
	inA := make(chan struct{})
	release := make(chan struct{})
	go q.Do("a", func() { close(inA); <-release })
	<-inA
	done := make(chan struct{})
	go q.Do("b", func() { close(done) })
	closedWithin(t, done, "an operation on key b waited for key a")
	close(release)
}

func TestPanicReleasesKey(t *testing.T) {
	var q Queue
	func() {
		defer func() { _ = recover() }()
		q.Do("a", func() { panic("boom") })
	}()
	done := make(chan struct{})
	go q.Do("a", func() { close(done) })
	closedWithin(t, done, "a panicking operation kept its key locked")
}

// closedWithin fails the test with failure unless done closes within 5s.
func closedWithin(t *testing.T, done <-chan struct{}, failure string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal(failure)
	}
}
