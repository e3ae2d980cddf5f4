// Package daemon assembles a standalone Locket: its config file, the lock store, the gRPC service and the optional metrics and debug servers.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"

	"github.com/diego-go/diego/src/internal/opsserver"
	"github.com/diego-go/diego/src/internal/sqldb"
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
	ops   *opsserver.Servers

	served   chan struct{} // closed when the gRPC server stops serving
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
	d := &Daemon{log: log, served: make(chan struct{}), serveErr: make(chan error, 1)}
	defer func() {
		if err != nil {
			d.stop()
		}
	}()
	// An unreachable database is waited for (not yet listening), so that a
	// supervisor does not restart Locket in a loop while it is down.
	if err = sqldb.RetryUnreachable(ctx, log, cfg.DatabaseDriver, func(ctx context.Context) (err error) {
		d.store, err = sqllock.Open(ctx, cfg.storeConfig(), log)
		return err
	}); err != nil {
		return nil, fmt.Errorf("opening %s database (check database_driver and database_connection_string): %w", cfg.DatabaseDriver, err)
	}
	reg := opsserver.NewRegistry()
	if d.svc, err = locket.New(ctx, locket.Config{Store: d.store, Logger: log, Registerer: reg}); err != nil {
		return nil, err
	}
	if d.ln, err = net.Listen("tcp", cfg.ListenAddress); err != nil {
		return nil, fmt.Errorf("listen_address: %w", err)
	}
	d.grpc = locket.NewGRPCServerWithLimits(d.svc, tlsCfg, cfg.serverLimits())
	go func() {
		defer close(d.served)
		if err := d.grpc.Serve(d.ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			d.serveErr <- err
		}
	}()
	if d.ops, err = opsserver.Start(opsserver.Config{MetricsAddress: cfg.MetricsAddress, Metrics: reg, DebugAddress: cfg.DebugAddress, Logger: log}); err != nil {
		return nil, err
	}
	log.Info("locket started", "version", version.Version, "listen_address", d.Addr(), "database", cfg.DatabaseDriver)
	return d, nil
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
	case err = <-d.ops.Failed():
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
		<-d.served
	} else if d.ln != nil {
		d.ln.Close()
	}
	if d.ops != nil {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		d.ops.Shutdown(ctx)
	}
	if d.svc != nil {
		d.svc.Close()
	}
	if d.store != nil {
		d.store.Close()
	}
	d.log.Info("locket stopped")
}
