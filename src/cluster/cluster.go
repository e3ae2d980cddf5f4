package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/internal/bbsaddr"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rep/container/process"
	"github.com/diego-go/diego/src/rep/container/runc"
	"github.com/diego-go/diego/src/target"
)

// ReadyTimeout bounds each start-up step.
const ReadyTimeout = 60 * time.Second

// Cluster is a running local cluster.
type Cluster struct {
	opts     Options
	l        layout
	planes   []controlPlane // z1's, and z2's with --ha
	reps     []*child
	edge     edge
	netUp    bool       // the cells' namespaces are set up
	runMu    sync.Mutex // guards runCtx and runWG, set by Run
	runCtx   context.Context
	runWG    *sync.WaitGroup
	targetMu sync.Mutex
	target   target.File
	start    time.Time
	lockFile *os.File // holds the directory's lock until Stop
}

// Up starts the cluster and returns once it is ready and target.json is
// written. Run blocks until ctx ends and then stops it.
func Up(ctx context.Context, opts Options) (*Cluster, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, start: time.Now()}
	c.l = layout{opts: opts, dir: dir}
	var why string
	if c.l.net, why = cellNetFor(opts, dir); why != "" {
		c.progress("--ha: %s", why)
	}
	// With cells in namespaces the ports are on the bridge, which prepare
	// makes (once it holds the directory's lock).
	if c.l.net == nil {
		if err := c.l.checkPorts(); err != nil {
			return nil, err
		}
	}
	if err := c.prepare(); err != nil {
		c.teardownNet()
		return nil, err
	}
	if c.l.net != nil {
		if err := c.l.checkPorts(); err != nil {
			c.teardownNet()
			return nil, err
		}
	}
	if err := c.startAll(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) progress(format string, args ...any) {
	fmt.Fprintf(c.opts.Out, "[%5.1fs] %s\n", time.Since(c.start).Seconds(), fmt.Sprintf(format, args...))
}

// prepare makes the directory layout, certificates, the encryption key,
// the rootfs and every config.
func (c *Cluster) prepare() error {
	l := &c.l
	for _, d := range []string{l.dir, filepath.Join(l.dir, "config"), filepath.Join(l.dir, "logs"), l.appLogDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	if err := c.lockDir(); err != nil {
		return err
	}
	_ = os.Remove(target.Path(l.dir))
	if err := c.checkSameDB(); err != nil {
		return err
	}
	if l.net != nil {
		if err := l.net.setup(c.opts.Cells); err != nil {
			return fmt.Errorf("putting the cells in network namespaces: %w", err)
		}
		c.netUp = true
		c.progress("cells in network namespaces %s..%s on bridge %s (%s)", l.net.ns(0), l.net.ns(c.opts.Cells-1), l.net.bridge(), l.net.hostIP())
	}
	certs, err := pki.GenerateLocal(filepath.Join(l.dir, "certs"), l.certHosts())
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	l.certs = certs
	if len(certs.Generated) > 0 {
		c.progress("generated mTLS certificates in %s", certs.Dir)
	}
	if generated, err := l.ensureIdentityCA(); err != nil {
		return err
	} else if generated {
		c.progress("generated the instance identity CA in %s", l.identityDir())
	}
	if l.key, err = readOrCreateKey(filepath.Join(l.dir, "encryption-key")); err != nil {
		return err
	}
	if err := c.seedVault(context.Background()); err != nil {
		return err
	}
	if c.opts.Backend == "runc" {
		if err := busyboxRootFS(l.rootfsDir()); err != nil {
			return fmt.Errorf("building the busybox rootfs: %w", err)
		}
	}
	configs := map[string]any{}
	for z := 0; z < l.zones(); z++ {
		locketCfg, err := l.locketConfig(z)
		if err != nil {
			return err
		}
		bbsCfg, err := l.bbsConfig(z)
		if err != nil {
			return err
		}
		configs[suffix("locket", z)], configs[suffix("bbs", z)] = locketCfg, bbsCfg
		configs[suffix("auctioneer", z)] = l.auctioneerConfig(z)
	}
	for i := 0; i < c.opts.Cells; i++ {
		configs["rep-"+l.cellID(i)] = l.repConfig(i)
	}
	if err := c.edgeConfigs(configs); err != nil {
		return err
	}
	for name, cfg := range configs {
		if err := writeConfig(l.configFile(name), cfg); err != nil {
			return fmt.Errorf("writing the %s config: %w", name, err)
		}
	}
	mk := func(name, bin string, restart bool) *child {
		return &child{name: name, bin: binPath(c.opts.BinDir, bin), config: l.configFile(name), logPath: l.logFile(name), restart: restart}
	}
	for z := 0; z < l.zones(); z++ {
		c.planes = append(c.planes, controlPlane{locket: mk(suffix("locket", z), "locket", true),
			bbs: mk(suffix("bbs", z), "bbs", true), auction: mk(suffix("auctioneer", z), "auctioneer", true)})
	}
	for i := 0; i < c.opts.Cells; i++ {
		rep := mk("rep-"+l.cellID(i), "rep", false)
		if l.net != nil {
			rep.netns = l.net.ns(i)
		}
		c.reps = append(c.reps, rep)
	}
	c.edge.children(mk)
	return nil
}

// lockDir makes sure one diego up runs per directory.
func (c *Cluster) lockDir() error {
	f, err := os.OpenFile(filepath.Join(c.l.dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("another diego up is running on %s", c.l.dir)
	}
	c.lockFile = f // held until Stop (or the process exits)
	return nil
}

// checkSameDB refuses to resume a directory on another database than the
// one it was created with.
func (c *Cluster) checkSameDB() error {
	path := filepath.Join(c.l.dir, "database")
	want := c.opts.DB
	if want == "" {
		want = "sqlite"
	}
	got, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.WriteFile(path, []byte(want+"\n"), 0o600)
	case err != nil:
		return err
	}
	if have := strings.TrimSpace(string(got)); have != want {
		return fmt.Errorf("%s was created with --db %q; resume it with the same --db, or use another --dir", c.l.dir, have)
	}
	return nil
}

// startAll starts the components in order, waiting for each to be ready.
func (c *Cluster) startAll(ctx context.Context) error {
	l := c.l
	if err := c.startLockets(ctx); err != nil {
		return err
	}
	bbsClient, err := bbsaddr.NewClient(bbs.ClientConfig{URL: l.bbsURLs(), IsTLS: true,
		CAFile: l.certs.CACert, CertFile: l.certs.ClientCert, KeyFile: l.certs.ClientKey})
	if err != nil {
		return fmt.Errorf("BBS client: %w", err)
	}
	lg := lager.NewLogger("diego-up")
	if err := c.startBBSes(ctx, bbsClient); err != nil {
		return err
	}
	if err := c.startEdge(ctx); err != nil {
		return err
	}
	for _, r := range c.reps {
		if err := r.start(); err != nil {
			return err
		}
	}
	c.progress("starting %d cells (%s backend)", len(c.reps), c.opts.Backend)
	seen := map[string]bool{}
	err = c.waitFor(ctx, "cells to register", c.reps, func() error {
		cells, err := bbsClient.Cells(lg, "")
		if err != nil {
			return err
		}
		for _, cell := range cells {
			if !seen[cell.CellId] {
				seen[cell.CellId] = true
				c.progress("  %s in %s at %s", cell.CellId, cell.Zone, cell.RepUrl)
			}
		}
		if len(seen) < len(c.reps) {
			return fmt.Errorf("%d of %d cells registered", len(seen), len(c.reps))
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The auctioneer starts once the cells are there: its first round
	// (the BBS's resumed instances) then has every cell to place on.
	if err := c.startAuctioneers(ctx); err != nil {
		return err
	}
	if err := c.writeTarget(); err != nil {
		return err
	}
	c.progress("ready: %s", target.Path(l.dir))
	return nil
}

func dialOK(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}

func (c *Cluster) startWait(ctx context.Context, ch *child, what string, ready func() error) error {
	if err := ch.start(); err != nil {
		return err
	}
	if err := c.waitFor(ctx, what, []*child{ch}, ready); err != nil {
		return err
	}
	c.progress("%s", what)
	return nil
}

// waitFor polls ready until it succeeds, failing early (with the end of
// its log) when one of the children exits.
func (c *Cluster) waitFor(ctx context.Context, what string, children []*child, ready func() error) error {
	deadline := time.Now().Add(ReadyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if last = ready(); last == nil {
			return nil
		}
		for _, ch := range children {
			select {
			case <-ch.done():
				return fmt.Errorf("%s exited (%s) while starting; the end of %s:\n%s", ch.name, ch.status(), ch.logPath, tail(ch.logPath, 15))
			default:
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("waiting for %s: %v after %s (logs in %s)", what, last, ReadyTimeout, filepath.Join(c.l.dir, "logs"))
}

func (c *Cluster) writeTarget() error {
	l := c.l
	t := target.File{
		BBSURL: l.bbsURLs(), LocketAddress: l.locketAddrs(0), AuctioneerURL: "https://" + l.auctioneerAddr(),
		CACert: l.certs.CACert, ClientCert: l.certs.ClientCert, ClientKey: l.certs.ClientKey,
		LogDir: l.appLogDir(), RootFS: "preloaded:" + RootFSName, Backend: c.opts.Backend,
		MetricsURLs: l.metricsURLs(), PIDs: map[string]int{},
	}
	c.describeHA(&t)
	c.edge.describe(l, &t)
	for i, r := range c.reps {
		t.Cells = append(t.Cells, target.Cell{
			CellID: l.cellID(i), RepURL: "https://" + l.repAddr(i), LocalURL: "http://" + l.localAddr(i),
			Zone: l.zone(i), PID: r.pid(), Netns: r.netns,
		})
	}
	c.targetMu.Lock()
	defer c.targetMu.Unlock()
	c.target = t
	return target.Write(target.Path(l.dir), t)
}

// BinDir is where the component binaries were taken from.
func (c *Cluster) BinDir() string { return c.opts.BinDir }

// Target is what target.json holds.
func (c *Cluster) Target() target.File {
	c.targetMu.Lock()
	defer c.targetMu.Unlock()
	return c.target
}

// Run supervises the components until ctx ends: Locket, the BBS and the
// auctioneer are restarted a second after an unexpected exit; a rep that
// dies stays down (its instances are re-placed on the other cells), as a
// cell VM that failed would. Then it stops everything.
func (c *Cluster) Run(ctx context.Context) {
	var wg sync.WaitGroup
	c.runMu.Lock()
	c.runCtx, c.runWG = ctx, &wg
	all := append(append(c.controlChildren(), c.edge.all()...), c.reps...)
	for _, ch := range all {
		c.superviseChild(ch)
	}
	c.runMu.Unlock()
	<-ctx.Done()
	c.Stop()
	c.runMu.Lock()
	defer c.runMu.Unlock()
	wg.Wait()
}

// superviseChild runs ch's supervisor; ch.supervised is closed when it
// returns. Called with runMu held.
func (c *Cluster) superviseChild(ch *child) {
	done := make(chan struct{})
	ch.mu.Lock()
	ch.supervised = done
	ch.mu.Unlock()
	c.runWG.Add(1)
	go func() {
		defer c.runWG.Done()
		defer close(done)
		ch.supervise(c.runCtx, c.exited)
	}()
}

// exited is told of every exit and restart of a supervised child.
func (c *Cluster) exited(ch *child, restarted bool, err error) {
	switch {
	case err != nil:
		c.progress("%s could not be restarted: %v", ch.name, err)
	case restarted:
		c.progress("%s exited; restarted (pid %d)", ch.name, ch.pid())
		if err := c.writeTarget(); err != nil {
			c.progress("updating target.json: %v", err)
		}
	default:
		c.progress("%s exited (%s); not restarted: its instances move to the other cells. Restart diego up to bring it back.", ch.name, ch.status())
		c.reapCell(ch)
	}
}

// reapCell kills the containers a dead rep left running (a dead cell VM
// would take them with it): the process backend's process groups, or the
// runc backend's containers (with their namespaces, cgroups and mounts).
func (c *Cluster) reapCell(rep *child) {
	for i, r := range c.reps {
		if r != rep {
			continue
		}
		n, err := c.reapContainers(i)
		switch {
		case err != nil:
			c.progress("cleaning up after %s: %v", rep.name, err)
		case n > 0:
			c.progress("  removed the %d containers %s left running", n, rep.name)
		}
	}
}

func (c *Cluster) reapContainers(i int) (int, error) {
	if c.opts.Backend == "process" {
		return process.ReapLeftovers(filepath.Join(c.l.cellDir(i), "containers"))
	}
	var cfg struct {
		Runc runc.Config `json:"runc"`
	}
	b, err := os.ReadFile(c.l.configFile("rep-" + c.l.cellID(i)))
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return 0, err
	}
	cfg.Runc.Logger = c.opts.Logger
	backend, err := runc.New(cfg.Runc)
	if err != nil {
		return 0, err
	}
	defer backend.Close()
	cs, err := backend.Containers(context.Background())
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, ct := range cs {
		if err := backend.Destroy(context.Background(), ct.Handle()); err != nil {
			errs = append(errs, err)
		}
	}
	return len(cs) - len(errs), errors.Join(errs...)
}

// Stop stops the reps (their instances leave the BBS; the desired state
// stays), then the auctioneer, the BBS and Locket. target.json is removed.
func (c *Cluster) Stop() {
	c.progress("stopping")
	var wg sync.WaitGroup
	for _, r := range c.reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.stop(40 * time.Second)
		}()
	}
	wg.Wait()
	var order []*child
	for _, p := range c.planes {
		order = append(order, p.auction)
	}
	for _, p := range c.planes {
		order = append(order, p.bbs)
	}
	for _, p := range c.planes {
		order = append(order, p.locket)
	}
	for _, ch := range append(c.edge.all(), order...) {
		if ch != nil {
			ch.stop(15 * time.Second)
		}
	}
	c.edge.stopNATS()
	c.teardownNet()
	_ = os.Remove(target.Path(c.l.dir))
	if c.lockFile != nil { // another Up on the directory may start now, in this process too
		_ = c.lockFile.Close()
		c.lockFile = nil
	}
	c.progress("stopped; run again with the same --dir to resume")
}
