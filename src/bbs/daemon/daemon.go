// Package daemon assembles a BBS process from its configuration (store, key
// ring, Locket, event hubs, service, convergence, HTTP servers) and runs it:
// it serves the API only while it holds the bbs lock.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/diego-go/diego/src/bbs/auctioneerclient"
	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/bbs/converger"
	"github.com/diego-go/diego/src/bbs/events"
	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/metrics"
	"github.com/diego-go/diego/src/bbs/reencrypt"
	"github.com/diego-go/diego/src/bbs/service"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/sqlstore"
	"github.com/diego-go/diego/src/internal/debugserver"
	"github.com/diego-go/diego/src/internal/serve"
	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/locket/leader"
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

// Daemon is a BBS process: a standby until it holds its lock, then the
// serving BBS.
type Daemon struct {
	cfg       config.Config
	opts      Options
	log       *slog.Logger
	ring      *keyring.Ring
	store     *sqlstore.Store
	serverTLS *tls.Config
	repTLS    *tls.Config
	Metrics   *metrics.BBS
	Rotation  *reencrypt.Policy

	lrpHub, taskHub *events.Hub
	groupHub        *events.Hub // the deprecated actual LRP group stream

	// Locket: an embedded server, an external connection, or neither.
	locketSvc  *locket.Service
	locketSrv  *grpc.Server
	locketConn *locket.Conn
	locketLn   net.Listener
	dispatcher *service.Dispatcher
	lockClient locket.Client

	// Set once leading (guarded by mu until leading is closed).
	mu        sync.Mutex
	svc       *service.Service
	svcStore  store.Store
	conv      *converger.Converger
	api       *http.Server
	apiLn     net.Listener
	leading   leader.Flag
	leaderCtx context.Context
	stopLead  context.CancelFunc

	health, debug *http.Server
	healthLn      net.Listener
	leaseDone     chan struct{}
	stopLease     context.CancelFunc
	servers       *serve.Group // every server and background loop; their failures end Wait
	stopOnce      sync.Once
}

// Start opens the store (migrating and re-encrypting as needed), starts the
// health, metrics and Locket listeners, and begins contending for the bbs
// lock. Without a Locket it serves at once and returns once serving.
func Start(ctx context.Context, cfg config.Config, opts Options) (*Daemon, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	d := &Daemon{cfg: cfg, opts: opts, log: log, servers: serve.NewGroup(4), Metrics: metrics.New()}
	if err := d.open(ctx); err != nil {
		d.close()
		return nil, err
	}
	if err := d.startHealth(); err != nil {
		d.close()
		return nil, err
	}
	if d.lockClient == nil {
		log.Warn("no locket_address or locket_listen_address: serving without leader election (run one BBS only)")
		if err := d.lead(ctx); err != nil {
			d.Stop(context.Background())
			return nil, err
		}
		return d, nil
	}
	d.contend()
	return d, nil
}

// open builds everything that does not depend on leading.
func (d *Daemon) open(ctx context.Context) error {
	cfg := d.cfg
	load, err := keyLoader(cfg, d.opts.ConfigPath)
	if err != nil {
		return err
	}
	if d.ring, err = load.Load(ctx); err != nil {
		return err
	}
	if d.serverTLS, err = pki.ServerTLSConfig(cfg.CAFile, cfg.CertFile, cfg.KeyFile); err != nil {
		return fmt.Errorf("server TLS: %w", err)
	}
	if d.repTLS, err = pki.ClientTLSConfig(cfg.RepCAFile, cfg.RepClientCertFile, cfg.RepClientKeyFile); err != nil {
		return fmt.Errorf("rep client TLS (rep_ca_file, rep_client_cert_file, rep_client_key_file): %w", err)
	}
	// An unreachable database is waited for (health not yet listening), so
	// that a supervisor does not restart the BBS in a loop while it is down.
	if err := sqldb.RetryUnreachable(ctx, d.log, cfg.DatabaseDriver, func(ctx context.Context) (err error) {
		d.store, err = sqlstore.Open(ctx, sqlstore.Config{
			Driver: cfg.DatabaseDriver, DSN: cfg.DatabaseConnectionString,
			MaxOpenConns: cfg.MaxOpenDatabaseConnections, MaxIdleConns: cfg.MaxIdleDatabaseConnections,
		}, d.ring, d.log)
		return err
	}); err != nil {
		return fmt.Errorf("opening %s database (check database_driver and database_connection_string): %w", cfg.DatabaseDriver, err)
	}
	if d.Rotation, err = reencrypt.New(d.ring, d.store, load, cfg.ReencryptPacing(), d.log); err != nil {
		return err
	}
	if err := d.Rotation.Settle(ctx); err != nil {
		return fmt.Errorf("opening %s database: %w", cfg.DatabaseDriver, err)
	}
	d.lrpHub = events.NewHub(cfg.EventBufferSize, d.log.With("hub", "lrp_instances"))
	d.taskHub = events.NewHub(cfg.EventBufferSize, d.log.With("hub", "tasks"))
	d.groupHub = events.NewHub(cfg.EventBufferSize, d.log.With("hub", "lrp_groups"))
	if err := d.openAuctioneer(); err != nil {
		return err
	}
	return d.openLocket(ctx)
}

// openAuctioneer connects to the auctioneer, when one is configured, behind
// a dispatcher so that BBS writes never wait for it.
func (d *Daemon) openAuctioneer() error {
	if d.opts.Auctioneer != nil || d.cfg.AuctioneerAddress == "" {
		return nil
	}
	tlsCfg, err := pki.ClientTLSConfig(d.cfg.AuctioneerCAFile, d.cfg.AuctioneerClientCertFile, d.cfg.AuctioneerClientKeyFile)
	if err != nil {
		return fmt.Errorf("auctioneer client TLS (auctioneer_ca_file, auctioneer_client_cert_file, auctioneer_client_key_file): %w", err)
	}
	client, err := auctioneerclient.New(auctioneerclient.Config{Address: d.cfg.AuctioneerAddress, TLS: tlsCfg, Logger: d.log})
	if err != nil {
		return err
	}
	d.dispatcher = service.NewDispatcher(client, 50*time.Millisecond, 100000, d.log)
	d.opts.Auctioneer = d.dispatcher
	d.log.Info("start requests go to the auctioneer", "auctioneer_address", d.cfg.AuctioneerAddress)
	return nil
}

// openLocket starts the embedded Locket or connects to an external one.
func (d *Daemon) openLocket(ctx context.Context) error {
	switch {
	case d.cfg.LocketListenAddress != "":
		svc, err := locket.New(ctx, locket.Config{Store: d.store, Logger: d.log, Registerer: d.Metrics.Registry, ScanInterval: time.Second})
		if err != nil {
			return err
		}
		d.locketSvc = svc
		ln, err := net.Listen("tcp", d.cfg.LocketListenAddress)
		if err != nil {
			return fmt.Errorf("locket_listen_address: %w", err)
		}
		d.locketLn = ln
		d.locketSrv = locket.NewGRPCServer(svc, d.serverTLS)
		d.servers.Go(func() error { return d.locketSrv.Serve(ln) })
		d.lockClient = svc.LocalClient()
		d.log.Info("embedded locket serving", "locket_listen_address", ln.Addr().String())
	case d.cfg.LocketAddress != "":
		conn, err := locket.DialFiles(d.cfg.LocketAddress, d.cfg.LocketCAFile, d.cfg.LocketClientCertFile, d.cfg.LocketClientKeyFile)
		if err != nil {
			return err
		}
		d.locketConn = conn
		d.lockClient = d.locketConn
	}
	return nil
}

func (d *Daemon) startHealth() error {
	var err error
	if d.healthLn, err = net.Listen("tcp", d.cfg.HealthAddress); err != nil {
		return fmt.Errorf("health_address: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /leader", func(w http.ResponseWriter, _ *http.Request) {
		if d.IsLeading() {
			w.Write([]byte("leading\n"))
			return
		}
		http.Error(w, "standby", http.StatusServiceUnavailable)
	})
	mux.Handle("GET /metrics", d.Metrics.Handler())
	d.health = d.cfg.ServerLimits.Apply(&http.Server{Handler: mux})
	d.servers.Go(func() error { return d.health.Serve(d.cfg.ServerLimits.Listener(d.healthLn)) })
	if d.cfg.DebugAddress != "" {
		return d.startDebug(d.cfg.DebugAddress)
	}
	return nil
}

// startDebug serves net/http/pprof on addr.
func (d *Daemon) startDebug(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("debug_address: %w", err)
	}
	d.debug = d.cfg.ServerLimits.Apply(&http.Server{Handler: debugserver.Handler()})
	d.servers.Go(func() error { return d.debug.Serve(d.cfg.ServerLimits.Listener(ln)) })
	d.log.Info("debug server started", "debug_address", ln.Addr().String())
	return nil
}

// LocketAddr is the embedded Locket's bound address ("" without one).
func (d *Daemon) LocketAddr() string {
	if d.locketLn == nil {
		return ""
	}
	return d.locketLn.Addr().String()
}

// HealthAddr is the health endpoint's bound address.
func (d *Daemon) HealthAddr() string { return d.healthLn.Addr().String() }

// Store exposes the database store.
func (d *Daemon) Store() *sqlstore.Store { return d.store }

// Wait blocks until ctx ends, a server fails, or the lock is lost, then stops.
func (d *Daemon) Wait(ctx context.Context) error {
	return serve.Until(ctx, d.servers.Errors(), d.log, "bbs stopping", d.Stop)
}

// Stop stops serving (API first, so no two BBSs ever serve at once), then
// releases the lock, then closes Locket and the store.
func (d *Daemon) Stop(ctx context.Context) error {
	var err error
	d.stopOnce.Do(func() {
		d.mu.Lock()
		api, stopLead := d.api, d.stopLead
		d.mu.Unlock()
		if stopLead != nil {
			stopLead()
		}
		d.lrpHub.Close()
		d.taskHub.Close()
		d.groupHub.Close()
		if api != nil {
			err = api.Shutdown(ctx)
		}
		if d.stopLease != nil {
			d.stopLease()
			<-d.leaseDone
		}
		err = errors.Join(err, d.health.Shutdown(ctx))
		if d.debug != nil {
			err = errors.Join(err, d.debug.Shutdown(ctx))
		}
		if d.locketSrv != nil {
			d.locketSrv.GracefulStop()
		}
		d.servers.Wait()
		d.Rotation.Stop()
		d.close()
		d.log.Info("bbs stopped")
	})
	return err
}

func (d *Daemon) close() {
	d.mu.Lock()
	svc := d.svc
	d.mu.Unlock()
	if svc != nil {
		svc.Close()
	}
	if d.dispatcher != nil {
		d.dispatcher.Close()
	}
	if d.locketSvc != nil {
		d.locketSvc.Close()
	}
	if d.locketConn != nil {
		d.locketConn.Close()
	}
	if d.store != nil {
		d.store.Close()
	}
}

// keyLoader returns where the key ring comes from: Vault (encryption_key_source
// type vault: the KV v2 secret, read on every call), or the config file
// (re-read on every call; the start-up keys when there is no file).
func keyLoader(cfg config.Config, path string) (keyring.Loader, error) {
	if cfg.EncryptionKeySource.Type == config.KeySourceVault {
		src, err := keyring.NewVault(cfg.EncryptionKeySource.Vault.KeyringConfig())
		if err != nil {
			return nil, fmt.Errorf("encryption_key_source.vault: %w", err)
		}
		return src.Load, nil
	}
	if path == "" {
		return keyring.Static(cfg.EncryptionKeys, cfg.ActiveKeyLabel), nil
	}
	return func(context.Context) (map[string]string, string, error) {
		c, err := config.Load(path)
		if err != nil {
			return nil, "", err
		}
		return c.EncryptionKeys, c.ActiveKeyLabel, nil
	}, nil
}

// reloadKeysOnAcquire re-reads the key ring when a standby takes the lock
// (see reencrypt.Policy.ReloadOnAcquire).
func (d *Daemon) reloadKeysOnAcquire(ctx context.Context) error {
	if err := d.Rotation.ReloadOnAcquire(ctx); err != nil {
		return fmt.Errorf("reloading the encryption key ring on taking the lock: %w", err)
	}
	return nil
}

func (d *Daemon) errorLog() *log.Logger { return slog.NewLogLogger(d.log.Handler(), slog.LevelWarn) }

// Run serves the BBS from cfg until ctx ends, then stops gracefully. SIGHUP
// reloads the key ring from cfg.Path. Logs go to slog.Default().
func Run(ctx context.Context, cfg config.Config) error {
	log := slog.Default()
	if cfg.MemoryLimitMB > 0 {
		debug.SetMemoryLimit(int64(cfg.MemoryLimitMB) << 20)
		log.Info("memory limit set", "memory_limit_mb", cfg.MemoryLimitMB)
	}
	d, err := Start(ctx, cfg, Options{ConfigPath: cfg.Path, Logger: log})
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if _, err := d.Rotation.ReloadKeys(ctx); err != nil {
				log.Error("SIGHUP key reload refused", "err", err)
			}
		}
	}()
	return d.Wait(ctx)
}
