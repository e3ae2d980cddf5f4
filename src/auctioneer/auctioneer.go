package auctioneer

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/diego-go/diego/src/internal/serve"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/locket/leader"
)

// Defaults for Config.
const (
	DefaultListenAddress = "0.0.0.0:9016"
	DefaultLockKey       = "auctioneer"
)

// Config assembles an Auctioneer. TLS and the Runner's Reps and BBS are
// required; Runner.Cells defaults to the presences in Locket.
type Config struct {
	Runner RunnerConfig
	// ListenAddress serves the API (default 0.0.0.0:9016), only while the
	// lock is held.
	ListenAddress string
	// TLS is the server's mutual-TLS configuration (pki.ServerTLSConfig).
	TLS *tls.Config
	// Locket holds the lock. Without it the auctioneer serves at once and
	// must be the only one.
	Locket locket.Client
	// LockKey (default "auctioneer"), LockOwner (default: host name and a
	// random suffix), LockTTL and LockRetryInterval (lease defaults: 15 s, 5 s).
	LockKey, LockOwner         string
	LockTTL, LockRetryInterval time.Duration
	MaxBodyBytes               int64 // default DefaultMaxBodyBytes
	// Limits bound the API's clients (unset fields: serve.DefaultLimits).
	Limits serve.Limits
	Logger *slog.Logger
}

// Validate fills defaults and reports every problem.
func (c *Config) Validate() error {
	var errs []error
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Runner.Logger == nil {
		c.Runner.Logger = c.Logger
	}
	if c.Runner.Cells == nil && c.Locket != nil {
		c.Runner.Cells = LocketCells{Client: c.Locket, Logger: c.Logger}
	}
	if err := c.Runner.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.TLS == nil {
		errs = append(errs, errors.New("auctioneer: no server TLS config (mutual TLS is mandatory)"))
	}
	if c.ListenAddress == "" {
		c.ListenAddress = DefaultListenAddress
	}
	if c.LockKey == "" {
		c.LockKey = DefaultLockKey
	}
	if c.LockOwner == "" {
		c.LockOwner = DefaultLockOwner()
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return errors.Join(errs...)
}

// DefaultLockOwner is the host name with a random suffix, so two
// auctioneers on one host still differ.
func DefaultLockOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("auctioneer-%s-%x", host, b)
}

// Auctioneer is a running auctioneer: a standby until it holds its lock,
// then it serves the API and runs auction rounds.
type Auctioneer struct {
	cfg     Config
	log     *slog.Logger
	runner  *Runner
	metrics *Metrics

	leading  leader.Flag
	servers  *serve.Group // the API; its failure or the lock loss ends Wait
	leaseCtx context.CancelFunc
	leaseEnd chan struct{}

	mu        sync.Mutex
	api       *http.Server       // guarded by mu
	ln        net.Listener       // guarded by mu
	stopRuns  context.CancelFunc // guarded by mu
	stopping  chan struct{}      // closed once serving stopped; guarded by mu
	runnerEnd chan struct{}
	fresh     freshConns
	stopOnce  sync.Once
}

// Start begins contending for the lock (or, without Locket, serves at once
// and returns once serving).
func Start(ctx context.Context, cfg Config) (*Auctioneer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r, err := NewRunner(cfg.Runner)
	if err != nil {
		return nil, err
	}
	a := &Auctioneer{cfg: cfg, log: cfg.Logger, runner: r, metrics: r.metrics,
		servers: serve.NewGroup(4), runnerEnd: make(chan struct{})}
	if cfg.Locket == nil {
		a.log.Warn("no locket: serving without the auctioneer lock (run one auctioneer only)")
		if err := a.lead(); err != nil {
			return nil, err
		}
		return a, nil
	}
	a.contend()
	return a, nil
}

// contend holds the lock in the background: acquiring it starts serving;
// losing it stops serving at once and ends Wait with an error, so the
// process exits and its supervisor restarts it as a standby.
func (a *Auctioneer) contend() {
	ctx, cancel := context.WithCancel(context.Background())
	a.leaseCtx, a.leaseEnd = cancel, make(chan struct{})
	go func() {
		defer close(a.leaseEnd)
		err := leader.Run(ctx, a.cfg.Locket, leader.Config{
			Key: a.cfg.LockKey, Owner: a.cfg.LockOwner, TTL: a.cfg.LockTTL, RetryInterval: a.cfg.LockRetryInterval, Logger: a.log,
		}, a.leadWhileHeld)
		if err != nil && ctx.Err() == nil {
			a.servers.Fail(err)
		}
	}()
}

// leadWhileHeld serves until the lock is lost (then stops serving at once)
// or Stop releases it (Stop stops serving first).
func (a *Auctioneer) leadWhileHeld(ctx context.Context) error {
	if err := a.lead(); err != nil {
		return fmt.Errorf("starting to serve after acquiring the lock: %w", err)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return a.stopServing(sctx)
}

// lead opens the API and starts the runner.
func (a *Auctioneer) lead() error {
	ln, err := net.Listen("tcp", a.cfg.ListenAddress)
	if err != nil {
		return fmt.Errorf("listen_address: %w", err)
	}
	api := a.cfg.Limits.Apply(&http.Server{
		ConnState: a.fresh.track,
		Handler:   NewHandler(a.runner, a.cfg.MaxBodyBytes, a.log),
		TLSConfig: a.cfg.TLS.Clone(),
		ErrorLog:  slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	})
	runCtx, stopRuns := context.WithCancel(context.Background())
	a.mu.Lock()
	if a.stopping != nil {
		a.mu.Unlock()
		ln.Close()
		stopRuns()
		return nil
	}
	a.api, a.ln, a.stopRuns = api, ln, stopRuns
	a.mu.Unlock()

	a.servers.Go(func() error {
		if err := api.ServeTLS(a.cfg.Limits.Listener(ln), "", ""); err != nil {
			return fmt.Errorf("serving the API: %w", err)
		}
		return nil
	})
	go func() {
		defer close(a.runnerEnd)
		a.runner.Warm(runCtx)
		_ = a.runner.Run(runCtx)
	}()
	a.metrics.IsLeader.Set(1)
	a.leading.Set()
	a.log.Info("auctioneer serving", "listen_address", ln.Addr().String())
	return nil
}

// stopServing closes the API, then stops the runner after its round. Later
// calls wait for the first to finish.
func (a *Auctioneer) stopServing(ctx context.Context) error {
	a.mu.Lock()
	if a.stopping != nil {
		done := a.stopping
		a.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
		}
		return nil
	}
	a.stopping = make(chan struct{})
	defer close(a.stopping)
	api, stopRuns := a.api, a.stopRuns
	a.mu.Unlock()
	if api == nil {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- api.Shutdown(ctx) }()
	// Shutdown waits up to 5 s for connections that never sent a request
	// (a client's spare connection); they have nothing in flight.
	tick := time.NewTicker(50 * time.Millisecond)
	var err error
wait:
	for {
		a.fresh.closeAll()
		select {
		case err = <-done:
			break wait
		case <-tick.C:
		}
	}
	tick.Stop()
	stopRuns()
	select {
	case <-a.runnerEnd:
	case <-ctx.Done():
	}
	a.metrics.IsLeader.Set(0)
	return err
}

// Leading is closed once the auctioneer serves.
func (a *Auctioneer) Leading() <-chan struct{} { return a.leading.Leading() }

// IsLeading reports whether the auctioneer has started serving.
func (a *Auctioneer) IsLeading() bool { return a.leading.IsLeading() }

// Addr is the API's bound address ("" until leading).
func (a *Auctioneer) Addr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// Runner exposes the queue and rounds.
func (a *Auctioneer) Runner() *Runner { return a.runner }

// Metrics exposes the metrics.
func (a *Auctioneer) Metrics() *Metrics { return a.metrics }

// Wait blocks until ctx ends, serving fails or the lock is lost, then
// stops; it returns the failure (nil when ctx ended).
func (a *Auctioneer) Wait(ctx context.Context) error {
	return serve.Until(ctx, a.servers.Errors(), a.log, "auctioneer stopping", a.Stop)
}

// Stop stops serving (API first, then the runner after its current
// round), then releases the lock.
func (a *Auctioneer) Stop(ctx context.Context) error {
	var err error
	a.stopOnce.Do(func() {
		err = a.stopServing(ctx)
		if a.leaseCtx != nil {
			a.leaseCtx()
			<-a.leaseEnd
		}
		a.servers.Wait()
		a.log.Info("auctioneer stopped")
	})
	return err
}

// freshConns tracks the API's connections that have not sent a request yet.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{} // guarded by mu
}

func (f *freshConns) track(c net.Conn, st http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st == http.StateNew {
		if f.conns == nil {
			f.conns = map[net.Conn]struct{}{}
		}
		f.conns[c] = struct{}{}
		return
	}
	delete(f.conns, c)
}

func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.Close()
		delete(f.conns, c)
	}
}
