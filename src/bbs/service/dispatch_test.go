package service

import (
	"context"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

type slowAuctioneer struct {
	mu    sync.Mutex
	calls int
	lrps  int
	block chan struct{}
}

func (s *slowAuctioneer) RequestLRPAuctions(_ context.Context, reqs []LRPStartRequest) error {
	<-s.block
	s.mu.Lock()
	s.calls++
	s.lrps += len(reqs)
	s.mu.Unlock()
	return nil
}

func (s *slowAuctioneer) RequestTaskAuctions(context.Context, []*models.Task) error { return nil }

func TestDispatcherNeverBlocksAndBatches(t *testing.T) {
	slow := &slowAuctioneer{block: make(chan struct{})}
	d := NewDispatcher(slow, 20*time.Millisecond, 10000, nil)
	start := time.Now()
	for i := 0; i < 500; i++ {
		_ = d.RequestLRPAuctions(context.Background(), []LRPStartRequest{{Indices: []int32{0}}})
	}
	if time.Since(start) > 100*time.Millisecond {
		t.Fatalf("queuing 500 requests took %v while the auctioneer hangs", time.Since(start))
	}
	close(slow.block)
	d.Close()
	if slow.lrps != 500 || slow.calls > 10 {
		t.Fatalf("delivered %d requests in %d calls", slow.lrps, slow.calls)
	}
}

func TestDispatcherDropsOverLimit(t *testing.T) {
	slow := &slowAuctioneer{block: make(chan struct{})}
	d := NewDispatcher(slow, time.Hour, 10, nil)
	for i := 0; i < 15; i++ {
		_ = d.RequestLRPAuctions(context.Background(), []LRPStartRequest{{Indices: []int32{0}}})
	}
	close(slow.block)
	d.Close()
	if slow.lrps != 10 {
		t.Fatalf("delivered %d, want the 10 that fit", slow.lrps)
	}
}
