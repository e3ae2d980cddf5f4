package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs"
	"github.com/nats-io/nats.go"

	"github.com/diego-go/diego/src/internal/bbsaddr"
	"github.com/diego-go/diego/src/internal/opsserver"
	"github.com/diego-go/diego/src/internal/serve"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/locket/leader"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/routeemitter/natsemitter"
	"github.com/diego-go/diego/src/routeemitter/routes"
	"github.com/diego-go/diego/src/routeemitter/table"
	"github.com/diego-go/diego/src/version"
)

// Options are the inputs that are not in the config file.
type Options struct {
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Daemon is a running route emitter: its NATS and BBS clients, its HTTP
// endpoints and, while it emits, the watcher that holds the table.
type Daemon struct {
	cfg    Config
	log    *slog.Logger
	nc     *nats.Conn
	bbs    bbs.Client
	locket *locket.Conn
	ops    *opsserver.Servers
	group  *serve.Group
	https  []*http.Server
	addrs  map[string]string // bound address by config name

	mu      sync.Mutex
	watcher *Watcher // the emitting watcher; nil while standing by

	cancel context.CancelFunc
	done   chan struct{} // closed when run returns, with its error in runErr
	runErr error
}

// Run emits until ctx ends, the lock is lost or a part fails, then stops;
// it logs through slog.Default().
func Run(ctx context.Context, cfg Config) error {
	d, err := Start(ctx, cfg, Options{})
	if err != nil {
		return err
	}
	return d.Wait(ctx)
}

// Start connects to NATS, the BBS and (global mode) Locket, binds the HTTP
// endpoints and starts emitting: at once in local mode, once it holds the
// route_emitter lock in global mode.
func Start(ctx context.Context, cfg Config, opts Options) (_ *Daemon, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	d := &Daemon{cfg: cfg, log: log, group: serve.NewGroup(4), addrs: map[string]string{}, done: make(chan struct{})}
	defer func() {
		if err != nil {
			d.close(context.Background())
		}
	}()
	bbsAddr, err := bbsaddr.URL(cfg.BBSAddress)
	if err != nil {
		return nil, err
	}
	if d.bbs, err = bbsaddr.NewClient(bbs.ClientConfig{
		URL: bbsAddr, IsTLS: true, CAFile: cfg.BBSCACertFile, CertFile: cfg.BBSClientCertFile, KeyFile: cfg.BBSClientKeyFile,
		RequestTimeout: time.Duration(cfg.CommunicationTimeout),
	}); err != nil {
		return nil, fmt.Errorf("bbs client (bbs_address, bbs_ca_cert_file, bbs_client_cert_file, bbs_client_key_file): %w", err)
	}
	if d.nc, err = connectNATS(cfg, log); err != nil {
		return nil, err
	}
	if !cfg.LocalMode() {
		tlsCfg, err := pki.ClientTLSConfig(cfg.LocketCACertFile, cfg.LocketClientCertFile, cfg.LocketClientKeyFile)
		if err != nil {
			return nil, fmt.Errorf("locket client TLS (locket_ca_cert_file, locket_client_cert_file, locket_client_key_file): %w", err)
		}
		if d.locket, err = locket.Dial(cfg.LocketAddress, tlsCfg); err != nil {
			return nil, err
		}
	}
	if d.ops, err = opsserver.Start(opsserver.Config{DebugAddress: cfg.DebugAddress, Limits: cfg.ServerLimits, Logger: log}); err != nil {
		return nil, err
	}
	health := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, s := range []struct {
		name, addr string
		h          http.Handler
	}{{"healthcheck_address", cfg.HealthCheckAddress, health}, {"routes_address", cfg.RoutesAddress, routes.Handler(d.Table)}} {
		if s.addr == "" {
			continue
		}
		if err := d.serveHTTP(s.name, s.addr, s.h); err != nil {
			return nil, err
		}
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	go func() { d.runErr = d.run(runCtx); close(d.done) }()
	mode := "global"
	if cfg.LocalMode() {
		mode = "local"
	}
	log.Info("route emitter started", "version", version.Version, "mode", mode, "cell_id", cfg.CellID,
		"bbs_address", bbsAddr, "nats", d.nc.ConnectedUrlRedacted(), "routes_address", d.addrs["routes_address"])
	return d, nil
}

// connectNATS connects to nats_addresses (TLS client certificates when
// nats_tls_enabled), retrying in the background as the reference's client.
func connectNATS(cfg Config, log *slog.Logger) (*nats.Conn, error) {
	servers, err := natsServers(cfg.NATSAddresses)
	if err != nil {
		return nil, err
	}
	opts := []nats.Option{
		nats.Name("route-emitter"), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
		nats.RetryOnFailedConnect(true), nats.PingInterval(20 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("nats disconnected", "err", err) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "server", nc.ConnectedUrlRedacted()) }),
	}
	if cfg.NATSUsername != "" || cfg.NATSPassword != "" {
		opts = append(opts, nats.UserInfo(cfg.NATSUsername, cfg.NATSPassword))
	}
	if cfg.NATSTLSEnabled {
		t, err := pki.ClientTLSConfig(cfg.NATSCACertFile, cfg.NATSClientCertFile, cfg.NATSClientKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats client TLS (nats_ca_cert_file, nats_client_cert_file, nats_client_key_file): %w", err)
		}
		opts = append(opts, nats.Secure(t))
	}
	nc, err := nats.Connect(strings.Join(servers, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS (nats_addresses): %w", err)
	}
	return nc, nil
}

func (d *Daemon) serveHTTP(name, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	srv := d.cfg.ServerLimits.Apply(&http.Server{Handler: h, ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelWarn)})
	ln = d.cfg.ServerLimits.Listener(ln)
	d.https = append(d.https, srv)
	d.addrs[name] = ln.Addr().String()
	d.group.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
	return nil
}

// RoutesAddr is routes_address's bound address ("" when not served).
func (d *Daemon) RoutesAddr() string { return d.addrs["routes_address"] }

// HealthAddr is healthcheck_address's bound address ("" when not served).
func (d *Daemon) HealthAddr() string { return d.addrs["healthcheck_address"] }

// Table is the routing table as GET /routes serves it.
func (d *Daemon) Table() routes.Table {
	t := routes.Table{Mode: "global", CellID: d.cfg.CellID}
	if d.cfg.LocalMode() {
		t.Mode = "local"
	}
	d.mu.Lock()
	w := d.watcher
	d.mu.Unlock()
	if w == nil {
		return t
	}
	ext, in := w.Snapshot()
	t.Active, t.External, t.Internal = true, routes.FromEntries(ext), routes.FromEntries(in)
	return t
}

// Emitting reports whether the daemon emits (local mode, or holding the lock).
func (d *Daemon) Emitting() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.watcher != nil
}

// run emits at once in local mode, or while holding the lock.
func (d *Daemon) run(ctx context.Context) error {
	if d.cfg.LocalMode() {
		return d.emit(ctx)
	}
	owner := d.cfg.UUID
	if owner == "" {
		host, _ := os.Hostname()
		owner = fmt.Sprintf("route-emitter-%s-%d", host, os.Getpid())
	}
	return leader.Run(ctx, d.locket, leader.Config{Key: LockKey, Owner: owner, TTL: time.Duration(d.cfg.LockTTL),
		RetryInterval: time.Duration(d.cfg.LockRetryInterval), Logger: d.log}, d.emit)
}

// emit runs a watcher over a fresh table and the register schedulers until
// ctx ends or a scheduler gives up.
func (d *Daemon) emit(ctx context.Context) error {
	em, err := natsemitter.New(d.nc, natsemitter.Config{
		FallbackInterval: time.Duration(d.cfg.FallbackRegisterInterval), EmitInternal: d.cfg.EnableInternalEmitter,
	}, d.log)
	if err != nil {
		return err
	}
	w, err := New(d.bbs, em, WatcherConfig{SyncInterval: time.Duration(d.cfg.SyncInterval), CellID: d.cfg.CellID,
		Table: table.Options{DirectInstanceRoutes: d.cfg.RegisterDirectInstanceRoutes}}, d.log)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.watcher = w
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.watcher = nil
		d.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := []func(context.Context) error{
		w.Run,
		func(ctx context.Context) error {
			return em.Schedule(ctx, natsemitter.Service{Prefix: "router", Registrations: w.Registrations})
		},
	}
	if d.cfg.EnableInternalEmitter {
		parts = append(parts, func(ctx context.Context) error {
			return em.Schedule(ctx, natsemitter.Service{Prefix: "service-discovery", Registrations: w.InternalRegistrations})
		})
	}
	errs := make(chan error, len(parts))
	for _, p := range parts {
		go func() { errs <- p(ctx) }()
	}
	d.log.Info("emitting routes", "cell_id", d.cfg.CellID, "internal", d.cfg.EnableInternalEmitter)
	var first error
	for range parts {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		} else if first == nil {
			cancel() // a part ended: stop the others
		}
	}
	return first
}

// Wait blocks until ctx ends, emitting fails (lock lost, no router) or an
// endpoint fails, then stops; it returns the failure (nil when ctx ended).
func (d *Daemon) Wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
		d.log.Info("stopping", "reason", context.Cause(ctx))
		d.cancel()
		<-d.done
		err = d.runErr
	case <-d.done:
		if err = d.runErr; err == nil {
			err = errors.New("route emitter stopped emitting")
		}
	case err = <-d.group.Errors():
	case err = <-d.ops.Failed():
	}
	if err != nil {
		d.log.Error("route emitter failed", "error", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), serve.StopTimeout)
	defer cancel()
	d.close(sctx)
	return err
}

// Stop stops emitting (releasing the lock) and closes everything.
func (d *Daemon) Stop(ctx context.Context) {
	if d.cancel != nil {
		d.cancel()
		select {
		case <-d.done:
		case <-ctx.Done():
		}
	}
	d.close(ctx)
}

func (d *Daemon) close(ctx context.Context) {
	if d.cancel != nil {
		d.cancel()
	}
	for _, s := range d.https {
		_ = s.Shutdown(ctx)
	}
	if d.ops != nil {
		d.ops.Shutdown(ctx)
	}
	if d.nc != nil {
		_ = d.nc.FlushTimeout(time.Second)
		d.nc.Close()
	}
	if d.locket != nil {
		d.locket.Close()
	}
}
