// Package opsserver serves a component's optional operator endpoints:
// Prometheus metrics on its metrics_address and Go's pprof profiles on its
// debug_address (plain HTTP; keep them on loopback).
package opsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/diego-go/diego/src/internal/debugserver"
	"github.com/diego-go/diego/src/internal/serve"
)

// Config says what to serve where; an empty address serves nothing there.
type Config struct {
	// MetricsAddress serves GET /metrics from Metrics.
	MetricsAddress string
	Metrics        prometheus.Gatherer
	// DebugAddress serves /debug/pprof/.
	DebugAddress string
	// Limits bound the servers' clients (unset fields: serve.DefaultLimits).
	Limits serve.Limits
	Logger *slog.Logger
}

// Servers are the running operator endpoints.
type Servers struct {
	log     *slog.Logger
	limits  serve.Limits
	servers []*http.Server
	addrs   []string // bound addresses, in servers' order
	wg      sync.WaitGroup
	failed  chan error
}

// Start binds every configured address and serves in the background. On
// error nothing is left running.
func Start(cfg Config) (*Servers, error) {
	s := &Servers{log: cfg.Logger, limits: cfg.Limits, failed: make(chan error, 2)}
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.MetricsAddress != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Metrics, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}))
		if err := s.serve("metrics_address", cfg.MetricsAddress, mux); err != nil {
			return nil, err
		}
	}
	if cfg.DebugAddress != "" {
		if err := s.serve("debug_address", cfg.DebugAddress, debugserver.Handler()); err != nil {
			s.Shutdown(context.Background())
			return nil, err
		}
	}
	return s, nil
}

// serve binds addr and serves h on it in the background.
func (s *Servers) serve(name, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	srv := s.limits.Apply(&http.Server{Handler: h, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)})
	s.servers = append(s.servers, srv)
	s.addrs = append(s.addrs, ln.Addr().String())
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(s.limits.Listener(ln)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.failed <- fmt.Errorf("%s: %w", name, err)
		}
	}()
	s.log.Info("http server started", name, ln.Addr().String())
	return nil
}

// Failed delivers the error of a server that stopped serving on its own.
func (s *Servers) Failed() <-chan error { return s.failed }

// Shutdown stops every server gracefully (bounded by ctx) and waits for them.
func (s *Servers) Shutdown(ctx context.Context) {
	for _, srv := range s.servers {
		if err := srv.Shutdown(ctx); err != nil {
			s.log.Warn("http server shutdown", "error", err)
		}
	}
	s.wg.Wait()
}
