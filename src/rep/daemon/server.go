package daemon

// The server: the rep API (mutual TLS) the auctioneer and the BBS call, the
// local API (ping, evacuate), the optional metrics listener, the cell's
// presence in Locket and the expiry of its reservations. StopLRPInstance
// and CancelTask are the rep API's stop calls, handed to the runner.

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"code.cloudfoundry.org/bbs/models"
	locketmodels "code.cloudfoundry.org/locket/models"

	"github.com/diego-go/diego/src/locket/lease"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rep/api"
	"github.com/diego-go/diego/src/rep/metrics"
	"github.com/diego-go/diego/src/rep/reconcile"
)

// listen opens the rep API, local and metrics listeners and sets the rep
// URL; it returns the rep API's TLS config.
func (d *Daemon) listen() (*tls.Config, error) {
	serverTLS, err := pki.ServerTLSConfig(d.cfg.CAFile, d.cfg.CertFile, d.cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("rep server TLS: %w", err)
	}
	if d.repLn, err = net.Listen("tcp", d.cfg.ListenAddress); err != nil {
		return nil, fmt.Errorf("listen_address: %w", err)
	}
	if d.localLn, err = net.Listen("tcp", d.cfg.LocalAddress); err != nil {
		return nil, fmt.Errorf("local_address: %w", err)
	}
	if d.cfg.MetricsAddress != "" {
		if d.metricsLn, err = net.Listen("tcp", d.cfg.MetricsAddress); err != nil {
			return nil, fmt.Errorf("metrics_address: %w", err)
		}
	}
	host, port, _ := net.SplitHostPort(d.repLn.Addr().String())
	if d.cfg.AdvertiseHost != "" {
		host = d.cfg.AdvertiseHost
	}
	d.repURL = "https://" + net.JoinHostPort(host, port)
	return serverTLS, nil
}

// serve starts the HTTP servers, holding the presence and expiring
// reservations.
func (d *Daemon) serve(serverTLS *tls.Config) error {
	h, err := api.NewHandler(api.Config{Ledger: d.ledger, Stopper: d, OnReserved: d.onReserved, Metrics: d})
	if err != nil {
		return err
	}
	lh, err := api.NewLocalHandler(d)
	if err != nil {
		return err
	}
	presence, err := d.presenceResource()
	if err != nil {
		return err
	}
	d.repSrv = d.cfg.ServerLimits.Apply(&http.Server{Handler: h, TLSConfig: serverTLS})
	d.localSrv = d.cfg.ServerLimits.Apply(&http.Server{Handler: lh})
	d.serveHTTP("rep API", d.repSrv, d.repLn, true)
	d.serveHTTP("local API", d.localSrv, d.localLn, false)
	if d.metricsLn != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler(d.ledger, d.cfg.CellID, d.cfg.Zone, d))
		d.metricsSrv = d.cfg.ServerLimits.Apply(&http.Server{Handler: mux})
		d.serveHTTP("metrics", d.metricsSrv, d.metricsLn, false)
	}

	ttl := time.Duration(d.cfg.PresenceTTL)
	d.background(func() {
		err := lease.Hold(d.ctx, d.lockCl, lease.Config{
			Resource:      presence,
			TTL:           ttl,
			RetryInterval: ttl / 3,
			// After a loss (Locket or its database was down), register
			// again within a second of Locket answering: the presence must
			// be back before anyone sees the cell missing.
			AcquireInterval: time.Second,
			Logger:          d.log,
			OnAcquired: func() {
				d.log.Info("presence held")
				d.presenceOnce.Do(func() { close(d.presenceHeld) })
			},
			OnLost: func(cause error) { d.log.Warn("presence lost", "cause", cause) },
		})
		if err != nil {
			d.serveErrs <- fmt.Errorf("presence: %w", err)
		}
	})
	d.background(d.expireLoop)
	return nil
}

// StopLRPInstance stops an instance on purpose: its container is stopped
// and destroyed and it is removed from the BBS (asynchronously).
func (d *Daemon) StopLRPInstance(ctx context.Context, processGuid, instanceGuid string) error {
	d.mu.Lock()
	inst, ok := d.instances[instanceGuid]
	d.mu.Unlock()
	if !ok || inst.lrp.ProcessGuid != processGuid {
		return fmt.Errorf("instance %s/%s: %w", processGuid, instanceGuid, api.ErrNotFound)
	}
	d.log.Info("stopping instance", "process_guid", processGuid, "instance_guid", instanceGuid)
	inst.end(reconcile.EndStop)
	return nil
}

// CancelTask stops a task's container; the BBS has already completed the
// task as cancelled, so nothing more is reported.
func (d *Daemon) CancelTask(ctx context.Context, taskGuid string) error {
	d.mu.Lock()
	tr, ok := d.tasks[taskGuid]
	d.mu.Unlock()
	if !ok {
		return fmt.Errorf("task %s: %w", taskGuid, api.ErrNotFound)
	}
	d.log.Info("cancelling task", "task_guid", taskGuid)
	tr.cancelled.Store(true)
	tr.cancel()
	return nil
}

// serveHTTP serves srv on ln in the background; a failure other than a
// shutdown is reported on Errors.
func (d *Daemon) serveHTTP(what string, srv *http.Server, ln net.Listener, withTLS bool) {
	ln = d.cfg.ServerLimits.Listener(ln)
	d.background(func() {
		var err error
		if withTLS {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.serveErrs <- fmt.Errorf("%s: %w", what, err)
		}
	})
}

// shutdown stops the HTTP servers.
func (d *Daemon) shutdown(ctx context.Context) {
	for _, srv := range []*http.Server{d.repSrv, d.localSrv, d.metricsSrv} {
		if srv != nil {
			_ = srv.Shutdown(ctx)
		}
	}
}

func (d *Daemon) presenceResource() (*locketmodels.Resource, error) {
	p := models.NewCellPresence(d.cfg.CellID, d.repURL, d.repURL, d.cfg.Zone, d.presenceCapacity,
		d.schemes, d.preloaded, d.cfg.PlacementTags, d.cfg.OptionalPlacementTags)
	value, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding cell presence: %w", err)
	}
	owner := make([]byte, 8)
	_, _ = rand.Read(owner)
	return &locketmodels.Resource{
		Key: d.cfg.CellID, Owner: d.cfg.CellID + "-" + hex.EncodeToString(owner), Value: string(value),
		TypeCode: locketmodels.PRESENCE, Type: locketmodels.PresenceType,
	}, nil
}

func (d *Daemon) expireLoop() {
	t := time.NewTicker(time.Duration(d.cfg.ExpireInterval))
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case now := <-t.C:
			for _, r := range d.ledger.Expire(now) {
				d.log.Info("reservation expired", "kind", r.Kind.String(), "guid", r.Guid)
			}
		}
	}
}

// RepURL is the https URL the rep API is served on.
func (d *Daemon) RepURL() string { return d.repURL }

// LocalAddr is the local API's address.
func (d *Daemon) LocalAddr() string { return d.localLn.Addr().String() }

// MetricsAddr is the metrics listener's address ("" without metrics_address).
func (d *Daemon) MetricsAddr() string {
	if d.metricsLn == nil {
		return ""
	}
	return d.metricsLn.Addr().String()
}

// PresenceHeld is closed once the cell's presence was first acquired.
func (d *Daemon) PresenceHeld() <-chan struct{} { return d.presenceHeld }

// Errors reports fatal serving errors.
func (d *Daemon) Errors() <-chan error { return d.serveErrs }

func (d *Daemon) closeAll() {
	if d.repLn != nil && d.repSrv == nil {
		_ = d.repLn.Close()
	}
	if d.localLn != nil && d.localSrv == nil {
		_ = d.localLn.Close()
	}
	if d.metricsLn != nil && d.metricsSrv == nil {
		_ = d.metricsLn.Close()
	}
	if d.lockCon != nil {
		_ = d.lockCon.Close()
	}
	d.closeLoggregator()
}
