// Package daemon assembles a standalone Locket: its config file, the lock store, the gRPC service and the optional metrics and debug servers.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/diego-go/diego/src/internal/debugserver"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/locket/sqllock"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/version"
)

// stopTimeout bounds the graceful stop; calls still running after it are cut.
const stopTimeout = 10 * time.Second

// Daemon is a running Locket: store, service, gRPC server and the optional
// metrics and debug HTTP servers.
type Daemon struct {
	log   *slog.Logger
	store *sqllock.Store
	svc   *locket.Service
	grpc  *grpc.Server
	ln    net.Listener
	https []*http.Server

	wg       sync.WaitGroup
	serveErr chan error
}

// Run serves cfg until ctx ends or a server fails, then stops gracefully.
// It logs through slog.Default().
func Run(ctx context.Context, cfg Config) error {
	d, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	return d.Wait(ctx)
}

// Start opens the store (migrating it), arms expiry timers for the locks in
// it, and starts serving. It returns once every listener is bound. It logs
// through slog.Default().
func Start(ctx context.Context, cfg Config) (_ *Daemon, err error) {
	log := slog.Default()
	tlsCfg, err := pki.ServerTLSConfig(cfg.CAFile, cfg.ServerCertFile, cfg.ServerKeyFile)
	if err != nil {
		return nil, fmt.Errorf("server TLS (ca_file, server_cert_file, server_key_file): %w", err)
	}
	d := &Daemon{log: log, serveErr: make(chan error, 3)}
	defer func() {
		if err != nil {
			d.stop()
		}
	}()
	if d.store, err = sqllock.Open(ctx, cfg.storeConfig(), log); err != nil {
		return nil, fmt.Errorf("opening %s database: %w", cfg.DatabaseDriver, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if d.svc, err = locket.New(ctx, locket.Config{Store: d.store, Logger: log, Registerer: reg}); err != nil {
		return nil, err
	}
	if d.ln, err = net.Listen("tcp", cfg.ListenAddress); err != nil {
		return nil, fmt.Errorf("listen_address: %w", err)
	}
	d.grpc = locket.NewGRPCServer(d.svc, tlsCfg)
	d.serve(func() error { return d.grpc.Serve(d.ln) })
	if cfg.MetricsAddress != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
		if err := d.serveHTTP("metrics_address", cfg.MetricsAddress, mux); err != nil {
			return nil, err
		}
	}
	if cfg.DebugAddress != "" {
		mux := http.NewServeMux()
		mux.Handle("/debug/pprof/", debugserver.Handler())
		if err := d.serveHTTP("debug_address", cfg.DebugAddress, mux); err != nil {
			return nil, err
		}
	}
	log.Info("locket started", "version", version.Version, "listen_address", d.Addr(), "database", cfg.DatabaseDriver)
	return d, nil
}

// serveHTTP binds addr and serves h on it in the background.
func (d *Daemon) serveHTTP(name, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelWarn)}
	d.https = append(d.https, s)
	d.serve(func() error { return s.Serve(ln) })
	d.log.Info("http server started", name, ln.Addr().String())
	return nil
}

func (d *Daemon) serve(fn func() error) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := fn(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) {
			d.serveErr <- err
		}
	}()
}

// Addr is the gRPC API's bound address.
func (d *Daemon) Addr() string { return d.ln.Addr().String() }

// Wait blocks until ctx ends or a server fails, then stops the daemon.
func (d *Daemon) Wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
		d.log.Info("stopping", "reason", context.Cause(ctx))
	case err = <-d.serveErr:
		d.log.Error("server failed", "error", err)
	}
	d.stop()
	return err
}

// stop drains gRPC calls (cutting them after stopTimeout), shuts the HTTP
// servers, stops the expiry timers and closes the store. Locks stay in the
// database: a Locket started later re-arms their timers.
func (d *Daemon) stop() {
	if d.grpc != nil {
		done := make(chan struct{})
		go func() {
			d.grpc.GracefulStop()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(stopTimeout):
			d.log.Warn("graceful stop timed out; closing connections", "timeout", stopTimeout)
			d.grpc.Stop()
			<-done
		}
	} else if d.ln != nil {
		d.ln.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	for _, s := range d.https {
		if err := s.Shutdown(ctx); err != nil {
			d.log.Warn("http server shutdown", "error", err)
		}
	}
	d.wg.Wait()
	if d.svc != nil {
		d.svc.Close()
	}
	if d.store != nil {
		d.store.Close()
	}
	d.log.Info("locket stopped")
}
