package scalerun

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"code.cloudfoundry.org/bbs"

	auctioneerdaemon "github.com/diego-go/diego/src/auctioneer/daemon"
	bbsconfig "github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/internal/bbsaddr"
	locketdaemon "github.com/diego-go/diego/src/locket/daemon"
	"github.com/diego-go/diego/src/pki"
)

// control is the control plane: Locket, the BBS and the auctioneer, each a
// process of its own binary, configured as src/cluster configures them.
type control struct {
	certs                            *pki.Bundle
	locketAddr, bbsHealth            string
	bbsURL                           string // every BBS, comma-separated (src/internal/bbsaddr)
	standbyHealth                    string // "" without a standby BBS
	auctioneerAddr                   string
	locketMetrics, auctioneerMetrics string
	// embeddedLocket: Locket is served by the BBS (SQLite), not a process
	// of its own.
	embeddedLocket bool
	procs          []*proc
	bbs, standby   *proc // standby: nil on SQLite
	client         bbs.InternalClient
	debug          map[string]string // component → its pprof address (--pprof)
}

// proc is one component process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
}

// freeAddrs returns n distinct free 127.0.0.1 addresses: every listener
// stays open until all are picked, so none is handed out twice.
func freeAddrs(n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		out[i] = l.Addr().String()
	}
	return out, nil
}

// lateAddr is a free 127.0.0.1 address for a listener that binds long
// after it is picked: the standby BBS opens its API port only once it
// holds the lock, maybe an hour into a run. It lies below the kernel's
// ephemeral port range, where outgoing connections take their ports: a
// full run's standby once found its ephemeral port taken by then (the
// cells hold thousands of connections) and exited, failing the failover.
func lateAddr() (string, error) {
	low := ephemeralLow()
	from := max(1024, low-12000)
	for range 500 {
		port := from + mrand.IntN(low-from)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		addr := l.Addr().String()
		l.Close()
		return addr, nil
	}
	return "", fmt.Errorf("finding a free port in %d-%d (below the ephemeral range) for the standby BBS: none of 500 tried was free", from, low-1)
}

// ephemeralPortRange is where Linux says its ephemeral ports start.
var ephemeralPortRange = "/proc/sys/net/ipv4/ip_local_port_range"

// ephemeralLow is the first ephemeral port (32768, Linux's default, when
// the kernel does not say or says something too low to stay under).
func ephemeralLow() int {
	b, err := os.ReadFile(ephemeralPortRange)
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 2048 {
		return 32768
	}
	return n
}

// startControl writes the certificates and configs under cfg.Dir and
// starts the three components, returning once the BBS answers and the
// auctioneer listens.
func startControl(ctx context.Context, cfg Config) (*control, error) {
	certs, err := pki.GenerateLocal(filepath.Join(cfg.Dir, "certs"), []string{"127.0.0.1", "localhost"})
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	a, err := freeAddrs(10)
	if err != nil {
		return nil, err
	}
	c := &control{certs: certs, locketAddr: a[0], bbsURL: "https://" + a[1], bbsHealth: a[2], auctioneerAddr: a[3], locketMetrics: a[4], auctioneerMetrics: a[5]}
	if cfg.standby() {
		if a[6], err = lateAddr(); err != nil {
			return nil, err
		}
		c.bbsURL += ",https://" + a[6]
		c.standbyHealth = a[7]
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	key := base64.StdEncoding.EncodeToString(raw)

	lc := locketdaemon.DefaultConfig()
	lc.ListenAddress, lc.MetricsAddress = c.locketAddr, c.locketMetrics
	lc.CAFile, lc.ServerCertFile, lc.ServerKeyFile = certs.CACert, certs.ServerCert, certs.ServerKey
	lc.DatabaseDriver, lc.DatabaseConnectionString = cfg.DBDriver, cfg.DBDSN
	lc.LogLevel = "info"
	if cfg.DBDriver != "sqlite" {
		// The BBS (two with the standby) and Locket share one server whose
		// max_connections is often 100: their default pools (64 and 50)
		// ran it out under load ("too many clients"), and a cell's Locket
		// release then waited 30 s.
		lc.MaxOpenDatabaseConnections = 20
	}

	bc := bbsconfig.DefaultConfig()
	bc.ListenAddress, bc.HealthAddress = a[1], c.bbsHealth
	bc.CAFile, bc.CertFile, bc.KeyFile = certs.CACert, certs.ServerCert, certs.ServerKey
	bc.DatabaseDriver, bc.DatabaseConnectionString = cfg.DBDriver, cfg.DBDSN
	bc.EncryptionKeys, bc.ActiveKeyLabel = map[string]string{"bench": key}, "bench"
	// On SQLite, Locket is the BBS's own (locket_listen_address): the BBS
	// reads cell presences from the same database, and a second process
	// writing the same file queues for SQLite's lock across processes,
	// where the BBS's writers, one after another on their one connection,
	// always got it first: Locket answered presence refreshes seconds
	// late, 1,175 of 1,200 cells' presences lapsed at 160,000 instances,
	// and convergence auctioned their 154,000 instances again. Embedded,
	// Locket's writes queue on the BBS's one writer connection with the
	// rest.
	if c.embeddedLocket = cfg.DBDriver == "sqlite"; c.embeddedLocket {
		bc.LocketListenAddress = c.locketAddr
	} else {
		bc.LocketAddress = c.locketAddr
	}
	bc.LocketCAFile, bc.LocketClientCertFile, bc.LocketClientKeyFile = certs.CACert, certs.ClientCert, certs.ClientKey
	bc.LockTTL, bc.LockRetryInterval = bbsconfig.Duration(cfg.LockTTL), bbsconfig.Duration(cfg.LockTTL/3)
	bc.AuctioneerAddress = c.auctioneerAddr
	bc.ConvergenceRepeatInterval = bbsconfig.Duration(cfg.ConvergenceInterval)
	bc.CellPresencePollInterval = bbsconfig.Duration(time.Second)
	bc.LogLevel = "info"
	bc.MemoryLimitMB = cfg.BBSMemoryLimitMB
	if cfg.DBDriver != "sqlite" {
		// All kept idle: with the default 16 idle, the connections past
		// them were closed after each use and opened again, a PostgreSQL
		// backend forked each time (90 placements/s on PostgreSQL).
		bc.MaxOpenDatabaseConnections, bc.MaxIdleDatabaseConnections = 30, 30
	}
	if cfg.Pprof {
		bc.DebugAddress = a[8]
	}
	if err := bc.Validate(); err != nil {
		return nil, fmt.Errorf("the BBS config: %w", err)
	}

	ac := auctioneerdaemon.DefaultConfig()
	ac.ListenAddress, ac.MetricsAddress = c.auctioneerAddr, c.auctioneerMetrics
	ac.CAFile, ac.ServerCertFile, ac.ServerKeyFile = certs.CACert, certs.ServerCert, certs.ServerKey
	ac.LocketAddress = c.locketAddr
	ac.LocketCAFile, ac.LocketClientCertFile, ac.LocketClientKeyFile = certs.CACert, certs.ClientCert, certs.ClientKey
	ac.LockTTL, ac.LockRetryInterval = auctioneerdaemon.Duration(cfg.LockTTL), auctioneerdaemon.Duration(time.Second)
	ac.BBSAddress = c.bbsURL
	ac.BBSCAFile, ac.BBSClientCertFile, ac.BBSClientKeyFile = certs.CACert, certs.ClientCert, certs.ClientKey
	ac.RepCAFile, ac.RepClientCertFile, ac.RepClientKeyFile = certs.CACert, certs.ClientCert, certs.ClientKey
	ac.LogLevel = "info"
	if cfg.Pprof {
		ac.DebugAddress = a[9]
		c.debug = map[string]string{"bbs": a[8], "auctioneer": a[9]}
	}

	// The standby BBS (a shared database only) starts once the first
	// serves, as diego up --ha starts z2's: it waits for the lock with its
	// API port closed, so it is ready once its health port listens.
	sb := bc
	sb.ListenAddress, sb.HealthAddress = a[6], a[7]
	sb.LockOwner = bc.LockOwner + "-standby" // one owner would let both hold the lock
	sb.DebugAddress = ""                     // --pprof serves the first BBS's profiles only
	for _, s := range []struct {
		name, bin string
		cfg       any
		addr      string
		skip      bool
	}{{"locket", "locket", lc, c.locketAddr, c.embeddedLocket}, {"bbs", "bbs", bc, a[1], false},
		{"bbs-standby", "bbs", sb, a[7], !cfg.standby()}, {"auctioneer", "auctioneer", ac, c.auctioneerAddr, false}} {
		if s.skip {
			continue
		}
		p, err := startProc(cfg, s.name, s.bin, s.cfg)
		if err != nil {
			c.stop()
			return nil, err
		}
		c.procs = append(c.procs, p)
		switch s.name {
		case "bbs":
			c.bbs = p
		case "bbs-standby":
			c.standby = p
		}
		if err := waitListening(ctx, p, s.addr, 2*time.Minute); err != nil {
			c.stop()
			return nil, err
		}
	}
	if c.client, err = bbsaddr.NewClient(bbs.ClientConfig{
		URL: c.bbsURL, IsTLS: true, CAFile: certs.CACert, CertFile: certs.ClientCert, KeyFile: certs.ClientKey,
		ClientSessionCacheSize: 0, MaxIdleConnsPerHost: 64, RequestTimeout: 2 * time.Minute,
	}); err != nil {
		c.stop()
		return nil, fmt.Errorf("BBS client: %w", err)
	}
	return c, nil
}

// startProc writes name's config and starts the binary bin with it,
// logging to Dir/logs/name.log.
func startProc(cfg Config, name, bin string, conf any) (*proc, error) {
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%s config: %w", name, err)
	}
	confPath := filepath.Join(cfg.Dir, "config", name+".json")
	logPath := filepath.Join(cfg.Dir, "logs", name+".log")
	for _, d := range []string{filepath.Dir(confPath), filepath.Dir(logPath)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", d, err)
		}
	}
	if err := os.WriteFile(confPath, append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", confPath, err)
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	cmd := exec.Command(filepath.Join(cfg.BinDir, bin), "-config", confPath)
	if cfg.ControlNice != 0 {
		// nice(1) sets the niceness before exec, so every thread the Go
		// runtime starts inherits it; where it may not (not root), it
		// says so in the log and runs the binary anyway.
		cmd = exec.Command("nice", "-n", strconv.Itoa(cfg.ControlNice), filepath.Join(cfg.BinDir, bin), "-config", confPath)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	return p, nil
}

// waitListening waits until addr accepts connections or p exits.
func waitListening(ctx context.Context, p *proc, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited while starting (see its log)", p.name)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not listen on %s within %v", p.name, addr, within)
		}
	}
}

// pids are the components' process ids by name.
func (c *control) pids() map[string]int {
	out := map[string]int{}
	for _, p := range c.procs {
		out[p.name] = p.cmd.Process.Pid
	}
	return out
}

// running says whether p has not exited.
func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop stops the components in reverse order: SIGTERM, then SIGKILL after
// 15 s.
func (c *control) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		if !p.running() {
			continue
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
}

// streamClient is an HTTP client for the BBS's event streams with the
// benchmark's client certificate: one connection per stream, no timeout.
func (c *control) streamClient() (*http.Client, error) {
	tlsCfg, err := pki.ClientTLSConfig(c.certs.CACert, c.certs.ClientCert, c.certs.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("event stream client: %w", err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg, MaxIdleConnsPerHost: -1}}, nil
}
