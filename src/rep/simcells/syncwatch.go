package simcells

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// syncWatch records when a cell's rep last completed a bulk sync, read
// from the rep's own "bulk sync" log records (the rep exports no such
// figure): a record without an error is a sync that succeeded, and its
// duration dates the sync's start.
type syncWatch struct {
	lastStart atomic.Int64 // Unix ns of the last successful sync's start
	failed    atomic.Uint64
}

// syncMessage is the rep's log message for each bulk sync (src/rep/daemon).
const syncMessage = "bulk sync"

// watchHandler passes records on to inner (at inner's levels) after
// noting the rep's bulk syncs, which it logs at debug and info.
type watchHandler struct {
	inner slog.Handler
	w     *syncWatch
}

func (h watchHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h watchHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == syncMessage {
		h.observe(r)
	}
	if !h.inner.Enabled(ctx, r.Level) {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h watchHandler) observe(r slog.Record) {
	var dur time.Duration
	failed := false
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "error":
			failed = true
		case "duration":
			if a.Value.Kind() == slog.KindDuration {
				dur = a.Value.Duration()
			}
		}
		return true
	})
	if failed {
		h.w.failed.Add(1)
		return
	}
	start := r.Time.Add(-dur).UnixNano()
	for {
		old := h.w.lastStart.Load()
		if start <= old || h.w.lastStart.CompareAndSwap(old, start) {
			return
		}
	}
}

func (h watchHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return watchHandler{inner: h.inner.WithAttrs(as), w: h.w}
}

func (h watchHandler) WithGroup(name string) slog.Handler {
	return watchHandler{inner: h.inner.WithGroup(name), w: h.w}
}
