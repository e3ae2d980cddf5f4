package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/rep"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/diego-go/diego/src/auctioneer"
	"github.com/diego-go/diego/src/internal/debugserver"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/version"
)

// stopTimeout bounds the graceful stop.
const stopTimeout = 15 * time.Second

// daemon is a running auctioneer with its optional metrics and debug servers.
type daemon struct {
	log      *slog.Logger
	auc      *auctioneer.Auctioneer
	locket   *locket.Conn
	https    []*http.Server
	wg       sync.WaitGroup
	serveErr chan error
}

// start connects to Locket and the BBS, starts the metrics and debug
// servers and begins contending for the lock. It returns once every
// listener other than the API's (opened with the lock) is bound.
func start(ctx context.Context, cfg Config, log *slog.Logger) (_ *daemon, err error) {
	serverTLS, err := pki.ServerTLSConfig(cfg.CAFile, cfg.ServerCertFile, cfg.ServerKeyFile)
	if err != nil {
		return nil, fmt.Errorf("server TLS (ca_file, server_cert_file, server_key_file): %w", err)
	}
	locketTLS, err := pki.ClientTLSConfig(cfg.LocketCAFile, cfg.LocketClientCertFile, cfg.LocketClientKeyFile)
	if err != nil {
		return nil, fmt.Errorf("locket client TLS (locket_ca_file, locket_client_cert_file, locket_client_key_file): %w", err)
	}
	bbsAddr, err := bbsURL(cfg.BBSAddress)
	if err != nil {
		return nil, err
	}
	bbsClient, err := bbs.NewClientWithConfig(bbs.ClientConfig{
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

	d := &daemon{log: log, serveErr: make(chan error, 2)}
	defer func() {
		if err != nil {
			d.stop(context.Background())
		}
	}()
	if d.locket, err = locket.Dial(cfg.LocketAddress, locketTLS); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
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
	d.auc, err = auctioneer.Start(ctx, auctioneer.Config{
		Runner: auctioneer.RunnerConfig{
			Reps: reps, BBS: auctioneer.NewBBS(bbsClient), Auction: cfg.auctionConfig(),
			BatchInterval: time.Duration(cfg.BatchInterval), Metrics: auctioneer.NewMetrics(reg),
		},
		ListenAddress: cfg.ListenAddress, TLS: serverTLS, Locket: d.locket,
		LockOwner: cfg.LockOwner, LockTTL: time.Duration(cfg.LockTTL), LockRetryInterval: time.Duration(cfg.LockRetryInterval),
		Logger: log,
	})
	if err != nil {
		return nil, err
	}
	log.Info("auctioneer started", "version", version.Version, "listen_address", cfg.ListenAddress,
		"locket_address", cfg.LocketAddress, "bbs_address", bbsAddr)
	return d, nil
}

// serveHTTP binds addr and serves h on it in the background.
func (d *daemon) serveHTTP(name, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelWarn)}
	d.https = append(d.https, s)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.serveErr <- fmt.Errorf("%s: %w", name, err)
		}
	}()
	d.log.Info("http server started", name, ln.Addr().String())
	return nil
}

// wait blocks until ctx ends, a server fails or the lock is lost, then
// stops; it returns the failure (nil when ctx ended).
func (d *daemon) wait(ctx context.Context) error {
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
	case err = <-d.serveErr:
		d.log.Error("server failed", "error", err)
		cancel()
		<-aucDone
	}
	sctx, scancel := context.WithTimeout(context.Background(), stopTimeout)
	defer scancel()
	d.stop(sctx)
	return err
}

// stop shuts the auctioneer (releasing the lock), the HTTP servers and the
// Locket connection.
func (d *daemon) stop(ctx context.Context) {
	if d.auc != nil {
		if err := d.auc.Stop(ctx); err != nil {
			d.log.Warn("stopping the auctioneer", "error", err)
		}
	}
	for _, s := range d.https {
		if err := s.Shutdown(ctx); err != nil {
			d.log.Warn("http server shutdown", "error", err)
		}
	}
	d.wg.Wait()
	if d.locket != nil {
		d.locket.Close()
	}
	d.log.Info("auctioneer process stopped")
}
