// Package daemon runs a rep cell: it announces the cell's presence in
// Locket, serves the rep API, runs the LRP instances and tasks placed on it
// in containers, reports their lifecycle to the BBS, keeps the BBS and its
// containers in step with a bulk sync, and evacuates on drain.
//
// Its files by responsibility: config.go and settings.go (the config file
// and the cell's settings), run.go (Run: the backend and the daemon's
// life), daemon.go (Start, Stop), server*.go (the rep, local and metrics
// APIs, the presence), runner*.go (LRP instance and task lifecycles) and
// reconciler*.go (applies what package reconcile decides: bulk sync,
// restart recovery, evacuation).
package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/internal/bbsaddr"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/rep/actions"
	"github.com/diego-go/diego/src/rep/cell"
	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/process"
	"github.com/diego-go/diego/src/rep/identity"
	"github.com/diego-go/diego/src/rep/loggregator"
	"github.com/diego-go/diego/src/rep/opqueue"
	"github.com/diego-go/diego/src/rep/reconcile"
)

// bbsRequestTimeout bounds each BBS request but the event streams (the
// reference rep's default communication_timeout).
const bbsRequestTimeout = 10 * time.Second

// Options are the daemon's dependencies that do not come from the config.
type Options struct {
	// LocketClient, if set, is used instead of dialing LocketAddress.
	LocketClient locket.Client
	Logger       *slog.Logger
	// ContainerOutput receives the containers' stdout and stderr (nil = discarded).
	ContainerOutput io.Writer
	// Backend, if set, runs the containers instead of a process backend
	// under ContainerRootDir.
	Backend container.Backend
}

// Daemon is a running rep cell.
type Daemon struct {
	cfg     Settings
	opts    Options
	log     *slog.Logger
	lg      lager.Logger
	ledger  *cell.Ledger
	backend container.Backend
	ops     opqueue.Queue
	bbs     bbs.InternalClient
	lockCl  locket.Client
	lockCon *locket.Conn
	repURL  string

	repLn, localLn     net.Listener
	repSrv, localSrv   *http.Server
	metricsLn          net.Listener // nil without metrics_address
	metricsSrv         *http.Server
	ctx                context.Context
	cancel             context.CancelFunc
	bg                 sync.WaitGroup // servers, lease, expiry
	instWG             sync.WaitGroup // instance goroutines
	presenceHeld       chan struct{}
	presenceOnce       sync.Once
	stopOnce           sync.Once
	stopErr            error
	mu                 sync.Mutex
	instances          map[string]*instance // by instance guid; guarded by mu
	tasks              map[string]*taskRun  // by task guid; guarded by mu
	stoppingInstances  bool                 // guarded by mu
	evacuating         bool                 // guarded by mu
	evacuated          chan struct{}        // closed when an evacuation has finished
	metricsCache       metricsCache
	serveErrs          chan error
	presenceCapacity   models.CellCapacity
	preloaded, schemes []string
	downloader         *actions.Downloader // with the cell's download cache
	uploader           *actions.Uploader
	dependencies       mountedDependencies // each container's, until it is destroyed
	identity           *identity.Issuer    // nil without instance identity
	loggregator        *loggregator.Client // nil without loggregator.agent_address
	loggregatorTags    sync.Map            // container handle -> its envelope tags, while it runs
}

// Start validates cfg, starts serving and announcing the cell, and returns
// the running daemon. Stop it with Stop.
func Start(ctx context.Context, cfg Settings, opts Options) (*Daemon, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("rep config: %w", err)
	}
	d := &Daemon{
		cfg: cfg, opts: opts, log: opts.Logger,
		instances:    map[string]*instance{},
		tasks:        map[string]*taskRun{},
		presenceHeld: make(chan struct{}),
		evacuated:    make(chan struct{}),
		serveErrs:    make(chan error, 3),
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.log = d.log.With("component", "rep", "cell_id", cfg.CellID)
	d.lg = lager.NewLogger("rep")
	d.preloaded, d.schemes, _ = parseProviders(cfg.RootFSProviders)
	var err error
	if d.downloader, d.uploader, err = newTransfers(cfg); err != nil {
		return nil, err
	}
	d.ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := d.start(); err != nil {
		d.cancel()
		d.closeAll()
		return nil, err
	}
	return d, nil
}

func (d *Daemon) start() error {
	var err error
	d.backend = d.opts.Backend
	if d.backend == nil {
		if d.backend, err = process.New(process.Config{
			RootDir: d.cfg.ContainerRootDir,
			Settings: host.Settings{HostIP: d.cfg.HostIP,
				MemoryMB: d.cfg.MemoryMB, DiskMB: d.cfg.DiskMB, MaxContainers: d.cfg.MaxContainers},
			RootFSes: d.preloaded,
		}); err != nil {
			return err
		}
	}
	if err := d.destroyLeftovers(); err != nil {
		return err
	}
	if err := d.startEnv(); err != nil {
		return err
	}
	if err := d.startLoggregator(); err != nil {
		return err
	}
	capy, err := d.backend.Capacity(d.ctx)
	if err != nil {
		return fmt.Errorf("backend capacity: %w", err)
	}
	if capy.DiskMB, err = advertisedDiskMB(d.cfg, capy.DiskMB); err != nil {
		return fmt.Errorf("disk capacity %d MB less max_cache_size_in_bytes %d: %w (set disk_mb or lower max_cache_size_in_bytes)",
			capy.DiskMB, d.cfg.MaxCacheSizeInBytes, err)
	}
	mem, disk := clamp32(capy.MemoryMB), clamp32(capy.DiskMB)
	d.presenceCapacity = models.NewCellCapacity(mem, disk, int32(capy.MaxContainers))

	// Each request bounded as the reference rep bounds it (its
	// communication_timeout, 10 s): a BBS cut off mid-request (a partition
	// drops packets) must not hold the bulk sync for TCP's minutes.
	if d.bbs, err = bbsaddr.NewClient(bbs.ClientConfig{URL: d.cfg.BBSAddress, IsTLS: true,
		CAFile: d.cfg.BBSCAFile, CertFile: d.cfg.BBSClientCertFile, KeyFile: d.cfg.BBSClientKeyFile,
		RequestTimeout:         bbsRequestTimeout,
		MaxIdleConnsPerHost:    cmp.Or(d.cfg.BBSMaxIdleConnsPerHost, DefaultBBSMaxIdleConnsPerHost),
		ClientSessionCacheSize: d.cfg.BBSClientSessionCacheSize}); err != nil {
		return fmt.Errorf("bbs client: %w", err)
	}
	switch {
	case d.opts.LocketClient != nil:
		d.lockCl = d.opts.LocketClient
	case d.cfg.LocketAddress != "":
		if d.lockCon, err = locket.DialFiles(d.cfg.LocketAddress, d.cfg.LocketCAFile, d.cfg.LocketClientCertFile, d.cfg.LocketClientKeyFile); err != nil {
			return err
		}
		d.lockCl = d.lockCon
	default:
		return errors.New("rep: locket_address is required (or Options.LocketClient)")
	}

	serverTLS, err := d.listen()
	if err != nil {
		return err
	}
	d.ledger = cell.New(cell.Identity{
		CellID: d.cfg.CellID, RepURL: d.repURL, Zone: d.cfg.Zone,
		RootFSProviders: repProviders(d.preloaded, d.schemes),
		PlacementTags:   d.cfg.PlacementTags, OptionalPlacementTags: d.cfg.OptionalPlacementTags,
	}, rep.NewResources(mem, disk, capy.MaxContainers))
	if err := d.serve(serverTLS); err != nil {
		return err
	}
	d.background(d.syncLoop)
	d.log.Info("rep started", "rep_url", d.repURL, "local_address", d.localLn.Addr().String())
	return nil
}

// background runs fn in a goroutine Stop waits for.
func (d *Daemon) background(fn func()) {
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		fn()
	}()
}

func clamp32(v int64) int32 {
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(v)
}

// Ledger is the cell's capacity ledger.
func (d *Daemon) Ledger() *cell.Ledger { return d.ledger }

// Stop stops every instance (removing them from the BBS) and task (failing
// them), the servers and the presence (released in Locket). It is
// idempotent.
func (d *Daemon) Stop(ctx context.Context) error {
	d.stopOnce.Do(func() {
		d.mu.Lock()
		d.stoppingInstances = true
		for _, inst := range d.instances {
			inst.end(reconcile.EndStop)
		}
		for _, tr := range d.tasks {
			tr.cancel()
		}
		d.mu.Unlock()
		instDone := make(chan struct{})
		go func() { d.instWG.Wait(); close(instDone) }()
		select {
		case <-instDone:
		case <-ctx.Done():
			d.stopErr = fmt.Errorf("waiting for instances to stop: %w", ctx.Err())
		}
		d.cancel()
		d.shutdown(ctx)
		bgDone := make(chan struct{})
		go func() { d.bg.Wait(); close(bgDone) }()
		select {
		case <-bgDone:
		case <-ctx.Done():
			d.stopErr = errors.Join(d.stopErr, fmt.Errorf("waiting for the daemon to stop: %w", ctx.Err()))
		}
		d.closeAll()
	})
	return d.stopErr
}
