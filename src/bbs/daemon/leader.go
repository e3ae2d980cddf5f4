package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/diego-go/diego/src/bbs/convergence"
	"github.com/diego-go/diego/src/bbs/converger"
	"github.com/diego-go/diego/src/bbs/repclient"
	"github.com/diego-go/diego/src/bbs/server"
	"github.com/diego-go/diego/src/bbs/service"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/desiredcache"
	"github.com/diego-go/diego/src/internal/serve"
	"github.com/diego-go/diego/src/locket/leader"
)

// contend holds the bbs lock in the background: on acquiring it the daemon
// starts serving; on losing it the daemon stops (its supervisor restarts it
// as a standby), so two BBSs never serve at once.
func (d *Daemon) contend() {
	ctx, cancel := context.WithCancel(context.Background())
	d.stopLease, d.leaseDone = cancel, make(chan struct{})
	go func() {
		defer close(d.leaseDone)
		err := leader.Run(ctx, d.lockClient, leader.Config{
			Key: d.cfg.LockKey, Owner: d.cfg.LockOwner,
			TTL: time.Duration(d.cfg.LockTTL), RetryInterval: time.Duration(d.cfg.LockRetryInterval),
			Logger: d.log,
		}, d.leadWhileHeld)
		if err != nil && ctx.Err() == nil && !errors.Is(err, leader.ErrLost) { // a loss was reported by leadWhileHeld
			d.servers.Fail(err)
		}
	}()
}

// leadWhileHeld serves until the lock is lost or Stop releases it (Stop
// stops serving first). A loss ends Wait at once, so the daemon stops
// serving without waiting for the lease's release attempt.
func (d *Daemon) leadWhileHeld(ctx context.Context) error {
	if err := d.lead(context.Background()); err != nil {
		return fmt.Errorf("starting to serve after acquiring the lock: %w", err)
	}
	<-ctx.Done()
	if cause := context.Cause(ctx); errors.Is(cause, leader.ErrLost) {
		d.servers.Fail(cause)
	}
	return nil
}

// lead builds the serving half: the desired LRP cache (loaded now, from the
// state the previous leader left), the service, the API and convergence.
func (d *Daemon) lead(ctx context.Context) error {
	start := time.Now()
	if d.lockClient != nil {
		if err := d.reloadKeysOnAcquire(ctx); err != nil {
			return err
		}
	}
	var st store.Store = d.store
	if d.cfg.CacheDesiredLRPs {
		cached, err := desiredcache.New(ctx, d.store)
		if err != nil {
			return fmt.Errorf("loading the desired LRP cache: %w", err)
		}
		st = cached
		d.log.Info("desired LRP cache loaded", "desired_lrps", cached.Len(), "duration", time.Since(start))
	}
	svc, err := service.New(service.Config{
		Store: st, LRPEvents: d.lrpHub, TaskEvents: d.taskHub, LRPGroupEvents: d.groupHub, Logger: d.log,
		Auctioneer: d.opts.Auctioneer, Cells: repclient.New(d.repTLS, time.Duration(d.cfg.RepClientTimeout)),
		MaxTaskRetries: d.cfg.MaxTaskRetries, MaxInstancesPerLRP: int32(d.cfg.MaxInstancesPerLRP),
		Callbacks: d.callbackWorkers(),
	})
	if err != nil {
		return err
	}
	handler, err := server.New(server.Config{
		Service: svc, LRPHub: d.lrpHub, TaskHub: d.taskHub, LRPGroupHub: d.groupHub, Admin: d.Rotation,
		AdminCommonNames: d.cfg.AdminCommonNames, MaxBodyBytes: d.cfg.MaxRequestBodyBytes, Logger: d.log,
	})
	if err != nil {
		svc.Close()
		return err
	}
	conv, err := converger.New(converger.Config{
		Interval:         time.Duration(d.cfg.ConvergenceRepeatInterval),
		CellPollInterval: time.Duration(d.cfg.CellPresencePollInterval),
		Workers:          d.cfg.ConvergenceWorkers,
		Decide:           convergence.DefaultConfig(),
	}, st, svc, d.Metrics, d.log)
	if err != nil {
		svc.Close()
		return err
	}
	ln, err := net.Listen("tcp", d.cfg.ListenAddress)
	if err != nil {
		svc.Close()
		return fmt.Errorf("listen_address: %w", err)
	}
	api := d.cfg.ServerLimits.Apply(&http.Server{Handler: serve.Streams(d.Metrics.Instrument(handler.KnownRoute, handler), isEventStream),
		TLSConfig: d.serverTLS, ErrorLog: d.errorLog()})
	leaderCtx, stopLead := context.WithCancel(context.Background())

	d.mu.Lock()
	d.svc, d.svcStore, d.conv, d.api, d.apiLn = svc, st, conv, api, ln
	d.leaderCtx, d.stopLead = leaderCtx, stopLead
	d.mu.Unlock()

	d.servers.Go(func() error { return api.ServeTLS(d.cfg.ServerLimits.Listener(ln), "", "") })
	d.servers.Go(func() error {
		_ = conv.Run(leaderCtx)
		return nil
	})
	d.Metrics.IsLeader.Set(1)
	d.leading.Set()
	d.log.Info("bbs serving", "listen_address", ln.Addr().String(), "health_address", d.HealthAddr(),
		"database", d.cfg.DatabaseDriver, "active_key", d.ring.ActiveLabel(), "took", time.Since(start))
	return nil
}

// callbackWorkers delivers task completion callbacks; like the reference, it
// presents the BBS's own certificate to HTTPS callback URLs.
func (d *Daemon) callbackWorkers() *service.CallbackWorkers {
	tlsCfg := d.serverTLS.Clone()
	tlsCfg.RootCAs = tlsCfg.ClientCAs
	tlsCfg.ClientAuth = tls.NoClientCert
	client := &http.Client{Timeout: time.Duration(d.cfg.TaskCallbackTimeout),
		Transport: &http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment}}
	return service.NewCallbackWorkers(d.cfg.TaskCallbackWorkers, callbackQueueDepth, client, d.log)
}

// callbackQueueDepth bounds the callbacks waiting for a worker; beyond it
// they are left to convergence.
const callbackQueueDepth = 100000

// Leading is closed once the daemon serves.
func (d *Daemon) Leading() <-chan struct{} { return d.leading.Leading() }

// IsLeading reports whether the daemon serves.
func (d *Daemon) IsLeading() bool { return d.leading.IsLeading() }

// Addr is the API's bound address ("" until leading).
func (d *Daemon) Addr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.apiLn == nil {
		return ""
	}
	return d.apiLn.Addr().String()
}

// Service exposes the controllers (nil until leading).
func (d *Daemon) Service() *service.Service {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.svc
}

// ServiceStore is the store the service reads through (the desired LRP
// cache when it is on; nil until leading).
func (d *Daemon) ServiceStore() store.Store {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.svcStore
}

// isEventStream matches the event stream routes (/v1/events...), exempt
// from the write timeout.
func isEventStream(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/v1/events") }
