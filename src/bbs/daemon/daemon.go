// Package daemon assembles a BBS process from its configuration (store, key
// ring, event hubs, service, HTTP servers) and runs it until stopped.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/bbs/encryption"
	"github.com/diego-go/diego/src/bbs/events"
	"github.com/diego-go/diego/src/bbs/metrics"
	"github.com/diego-go/diego/src/bbs/repclient"
	"github.com/diego-go/diego/src/bbs/rotation"
	"github.com/diego-go/diego/src/bbs/server"
	"github.com/diego-go/diego/src/bbs/service"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/desiredcache"
	"github.com/diego-go/diego/src/bbs/store/sqlstore"
	"github.com/diego-go/diego/src/pki"
)

// Options are the inputs that are not in the config file.
type Options struct {
	// ConfigPath, when set, is re-read for the key ring on ReloadKeys.
	ConfigPath string
	Logger     *slog.Logger
	// Auctioneer receives start requests (default: none configured, logged).
	Auctioneer service.Auctioneer
}

// Daemon is a running BBS.
type Daemon struct {
	cfg      config.Config
	log      *slog.Logger
	ring     *encryption.Ring
	store    *sqlstore.Store
	svc      *service.Service
	lrpHub   *events.Hub
	taskHub  *events.Hub
	Rotation *rotation.Manager
	Metrics  *metrics.BBS
	svcStore store.Store // the store the service uses (the cache, when on)

	api, health, debug *http.Server
	apiLn, healthLn    net.Listener
	wg                 sync.WaitGroup
	serveErr           chan error
	stopOnce           sync.Once
}

// Start opens the store (migrating and re-encrypting as needed) and starts
// serving. It returns once both listeners are bound.
func Start(ctx context.Context, cfg config.Config, opts Options) (*Daemon, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	ring, err := encryption.NewRing(cfg.EncryptionKeys, cfg.ActiveKeyLabel)
	if err != nil {
		return nil, err
	}
	serverTLS, err := pki.ServerTLSConfig(cfg.CAFile, cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("server TLS: %w", err)
	}
	repTLS, err := pki.ClientTLSConfig(cfg.RepCAFile, cfg.RepClientCertFile, cfg.RepClientKeyFile)
	if err != nil {
		return nil, fmt.Errorf("rep client TLS (rep_ca_file, rep_client_cert_file, rep_client_key_file): %w", err)
	}
	st, err := sqlstore.Open(ctx, sqlstore.Config{
		Driver: cfg.DatabaseDriver, DSN: cfg.DatabaseConnectionString,
		MaxOpenConns: cfg.MaxOpenDatabaseConnections, MaxIdleConns: cfg.MaxIdleDatabaseConnections,
	}, ring, log)
	if err != nil {
		return nil, fmt.Errorf("opening %s database: %w", cfg.DatabaseDriver, err)
	}
	d := &Daemon{cfg: cfg, log: log, ring: ring, store: st, serveErr: make(chan error, 2)}
	var svcStore store.Store = st
	defer func() { d.svcStore = svcStore }()
	if cfg.CacheDesiredLRPs {
		t0 := time.Now()
		cached, err := desiredcache.New(ctx, st)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("loading the desired LRP cache: %w", err)
		}
		log.Info("desired LRP cache loaded", "desired_lrps", cached.Len(), "duration", time.Since(t0))
		svcStore = cached
	}
	d.lrpHub = events.NewHub(cfg.EventBufferSize, log.With("hub", "lrp_instances"))
	d.taskHub = events.NewHub(cfg.EventBufferSize, log.With("hub", "tasks"))
	d.svc, err = service.New(service.Config{
		Store: svcStore, LRPEvents: d.lrpHub, TaskEvents: d.taskHub, Logger: log,
		Auctioneer: opts.Auctioneer, Cells: repclient.New(repTLS, time.Duration(cfg.RepClientTimeout)),
		MaxTaskRejections: int32(cfg.MaxTaskRetries),
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	d.Rotation = rotation.New(ring, st, keyLoader(cfg, opts.ConfigPath), log)
	handler, err := server.New(server.Config{
		Service: d.svc, LRPHub: d.lrpHub, TaskHub: d.taskHub, Admin: d.Rotation,
		AdminCommonNames: cfg.AdminCommonNames, MaxBodyBytes: cfg.MaxRequestBodyBytes, Logger: log,
	})
	if err != nil {
		d.close()
		return nil, err
	}
	if d.apiLn, err = net.Listen("tcp", cfg.ListenAddress); err != nil {
		d.close()
		return nil, fmt.Errorf("listen_address: %w", err)
	}
	if d.healthLn, err = net.Listen("tcp", cfg.HealthAddress); err != nil {
		d.apiLn.Close()
		d.close()
		return nil, fmt.Errorf("health_address: %w", err)
	}
	d.Metrics = metrics.New()
	d.api = &http.Server{Handler: d.Metrics.Instrument(handler.KnownRoute, handler), TLSConfig: serverTLS, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	healthMux := http.NewServeMux()
	healthMux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	healthMux.Handle("GET /metrics", d.Metrics.Handler())
	d.health = &http.Server{Handler: healthMux, ReadHeaderTimeout: 5 * time.Second}
	d.serve(func() error { return d.api.ServeTLS(d.apiLn, "", "") })
	d.serve(func() error { return d.health.Serve(d.healthLn) })
	if cfg.DebugAddress != "" {
		if err := d.startDebug(cfg.DebugAddress); err != nil {
			d.Stop(context.Background())
			return nil, err
		}
	}
	log.Info("bbs started", "listen_address", d.apiLn.Addr().String(), "health_address", d.healthLn.Addr().String(),
		"database", cfg.DatabaseDriver, "active_key", ring.ActiveLabel())
	return d, nil
}

func (d *Daemon) serve(fn func() error) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := fn(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.serveErr <- err
		}
	}()
}

// startDebug serves net/http/pprof on addr.
func (d *Daemon) startDebug(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("debug_address: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	d.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	d.serve(func() error { return d.debug.Serve(ln) })
	d.log.Info("debug server started", "debug_address", ln.Addr().String())
	return nil
}

// Addr is the API's bound address (useful with port 0).
func (d *Daemon) Addr() string { return d.apiLn.Addr().String() }

// HealthAddr is the health endpoint's bound address.
func (d *Daemon) HealthAddr() string { return d.healthLn.Addr().String() }

// Service exposes the controllers (for in-process tools and tests).
func (d *Daemon) Service() *service.Service { return d.svc }

// ServiceStore is the store the service reads through (the desired LRP
// cache when it is on).
func (d *Daemon) ServiceStore() store.Store { return d.svcStore }

// Store exposes the store.
func (d *Daemon) Store() *sqlstore.Store { return d.store }

// Wait blocks until ctx ends or a server fails, then stops the daemon.
func (d *Daemon) Wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-d.serveErr:
		d.log.Error("server failed", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(err, d.Stop(sctx))
}

// Stop ends event streams, drains requests and closes the store.
func (d *Daemon) Stop(ctx context.Context) error {
	var err error
	d.stopOnce.Do(func() {
		d.lrpHub.Close()
		d.taskHub.Close()
		err = errors.Join(d.api.Shutdown(ctx), d.health.Shutdown(ctx))
		if d.debug != nil {
			err = errors.Join(err, d.debug.Shutdown(ctx))
		}
		d.wg.Wait()
		d.Rotation.Wait()
		d.close()
		d.log.Info("bbs stopped")
	})
	return err
}

func (d *Daemon) close() {
	if d.svc != nil {
		d.svc.Close()
	}
	d.store.Close()
}

// keyLoader re-reads the key ring from the config file, or serves the
// start-up keys when there is no file.
func keyLoader(cfg config.Config, path string) rotation.Loader {
	return func(context.Context) (map[string]string, string, error) {
		if path == "" {
			return cfg.EncryptionKeys, cfg.ActiveKeyLabel, nil
		}
		c, err := config.Load(path)
		if err != nil {
			return nil, "", err
		}
		return c.EncryptionKeys, c.ActiveKeyLabel, nil
	}
}
