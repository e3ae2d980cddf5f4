// Package daemon assembles an auctioneer process from its configuration
// (Locket, BBS and rep clients, metrics and debug servers) and runs it: it
// serves the auction API only while it holds the auctioneer lock.
package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/auctioneer"
	"github.com/diego-go/diego/src/internal/bbsaddr"
	"github.com/diego-go/diego/src/internal/opsserver"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/version"
)

// stopTimeout bounds the graceful stop.
const stopTimeout = 15 * time.Second

// Options are the inputs that are not in the config file.
type Options struct {
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Daemon is a running auctioneer with its optional metrics and debug servers.
type Daemon struct {
	log    *slog.Logger
	auc    *auctioneer.Auctioneer
	locket *locket.Conn
	ops    *opsserver.Servers
}

// Run serves until ctx ends, the lock is lost or a server fails, then stops
// gracefully; it logs through slog.Default().
func Run(ctx context.Context, cfg Config) error {
	d, err := Start(ctx, cfg, Options{})
	if err != nil {
		return err
	}
	return d.Wait(ctx)
}

// Start connects to Locket and the BBS, starts the metrics and debug
// servers and begins contending for the lock. It returns once every
// listener other than the API's (opened with the lock) is bound.
func Start(ctx context.Context, cfg Config, opts Options) (_ *Daemon, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	serverTLS, err := pki.ServerTLSConfig(cfg.CAFile, cfg.ServerCertFile, cfg.ServerKeyFile)
	if err != nil {
		return nil, fmt.Errorf("server TLS (ca_file, server_cert_file, server_key_file): %w", err)
	}
	locketTLS, err := pki.ClientTLSConfig(cfg.LocketCAFile, cfg.LocketClientCertFile, cfg.LocketClientKeyFile)
	if err != nil {
		return nil, fmt.Errorf("locket client TLS (locket_ca_file, locket_client_cert_file, locket_client_key_file): %w", err)
	}
	bbsAddr, err := bbsaddr.URL(cfg.BBSAddress)
	if err != nil {
		return nil, err
	}
	bbsClient, err := bbsaddr.NewClient(bbs.ClientConfig{
		URL: bbsAddr, IsTLS: true, CAFile: cfg.BBSCAFile, CertFile: cfg.BBSClientCertFile, KeyFile: cfg.BBSClientKeyFile,
		MaxIdleConnsPerHost: 32, RequestTimeout: time.Duration(cfg.CommunicationTimeout),
	})
	if err != nil {
		return nil, fmt.Errorf("bbs client (bbs_address, bbs_ca_file, bbs_client_cert_file, bbs_client_key_file): %w", err)
	}
	reps, err := auctioneer.NewRepClientFactory(auctioneer.RepClientConfig{
		TLS:          rep.TLSConfig{RequireTLS: true, CaCertFile: cfg.RepCAFile, CertFile: cfg.RepClientCertFile, KeyFile: cfg.RepClientKeyFile},
		StateTimeout: time.Duration(cfg.CellStateTimeout), WorkTimeout: time.Duration(cfg.CommunicationTimeout),
	})
	if err != nil {
		return nil, fmt.Errorf("rep client (rep_ca_file, rep_client_cert_file, rep_client_key_file): %w", err)
	}

	d := &Daemon{log: log}
	defer func() {
		if err != nil {
			d.Stop(context.Background())
		}
	}()
	if d.locket, err = locket.Dial(cfg.LocketAddress, locketTLS); err != nil {
		return nil, err
	}
	reg := opsserver.NewRegistry()
	if d.ops, err = opsserver.Start(opsserver.Config{MetricsAddress: cfg.MetricsAddress, Metrics: reg, DebugAddress: cfg.DebugAddress, Limits: cfg.ServerLimits, Logger: log}); err != nil {
		return nil, err
	}
	d.auc, err = auctioneer.Start(ctx, auctioneer.Config{
		Runner: auctioneer.RunnerConfig{
			Reps: reps, BBS: auctioneer.NewBBS(bbsClient), Auction: cfg.auctionConfig(),
			BatchInterval: time.Duration(cfg.BatchInterval), Metrics: auctioneer.NewMetrics(reg),
		},
		ListenAddress: cfg.ListenAddress, TLS: serverTLS, Locket: d.locket,
		LockOwner: cfg.LockOwner, LockTTL: time.Duration(cfg.LockTTL), LockRetryInterval: time.Duration(cfg.LockRetryInterval),
		Limits: cfg.ServerLimits, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	log.Info("auctioneer started", "version", version.Version, "listen_address", cfg.ListenAddress,
		"locket_address", cfg.LocketAddress, "bbs_address", bbsAddr)
	return d, nil
}

// Auctioneer is the running auctioneer (its API address, leadership, runner).
func (d *Daemon) Auctioneer() *auctioneer.Auctioneer { return d.auc }

// Wait blocks until ctx ends, a server fails or the lock is lost, then
// stops; it returns the failure (nil when ctx ended).
func (d *Daemon) Wait(ctx context.Context) error {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	aucDone := make(chan error, 1)
	go func() { aucDone <- d.auc.Wait(actx) }()
	var err error
	select {
	case err = <-aucDone:
		if err == nil {
			d.log.Info("stopping", "reason", context.Cause(ctx))
		}
	case err = <-d.ops.Failed():
		d.log.Error("server failed", "error", err)
		cancel()
		<-aucDone
	}
	sctx, scancel := context.WithTimeout(context.Background(), stopTimeout)
	defer scancel()
	d.Stop(sctx)
	return err
}

// Stop shuts the auctioneer (releasing the lock), the HTTP servers and the
// Locket connection.
func (d *Daemon) Stop(ctx context.Context) {
	if d.auc != nil {
		if err := d.auc.Stop(ctx); err != nil {
			d.log.Warn("stopping the auctioneer", "error", err)
		}
	}
	if d.ops != nil {
		d.ops.Shutdown(ctx)
	}
	if d.locket != nil {
		d.locket.Close()
	}
	d.log.Info("auctioneer process stopped")
}
