package cluster

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	filedaemon "github.com/diego-go/diego/src/fileserver/daemon"
	"github.com/diego-go/diego/src/internal/natsembed"
	emitterdaemon "github.com/diego-go/diego/src/routeemitter/daemon"
	"github.com/diego-go/diego/src/sshd"
	sshproxydaemon "github.com/diego-go/diego/src/sshproxy/daemon"
	"github.com/diego-go/diego/src/target"
)

// The components that reach the apps listen just above the core ones:
// NATS (when embedded) +4, the file server +5, the SSH proxy +6 and the
// route emitter's table +7.
func (l layout) natsAddr() string       { return l.addr(natsOffset) }
func (l layout) fileServerAddr() string { return l.addr(5) }
func (l layout) sshProxyAddr() string   { return l.addr(6) }
func (l layout) routesAddr() string     { return l.addr(7) }

// natsOffset is the embedded NATS server's port above the port base.
const natsOffset = 4

// staticDir is what the file server serves under /v1/static/.
func (l layout) staticDir() string { return filepath.Join(l.dir, "fileserver") }

// natsURL is the NATS the route emitter publishes to: --nats, or the one
// diego up embeds.
func (l layout) natsURL() string {
	if l.opts.NATSURL != "" {
		return l.opts.NATSURL
	}
	return "nats://" + l.natsAddr()
}

// fileServerURL is the file server's base URL.
func (l layout) fileServerURL() string { return "http://" + l.fileServerAddr() }

func (l layout) fileServerConfig() filedaemon.Config {
	cfg := filedaemon.DefaultConfig()
	cfg.ServerAddress = l.fileServerAddr()
	cfg.StaticDirectory = l.staticDir()
	return cfg
}

// startNATS runs the embedded NATS server in this process, unless --nats
// names one.
func startNATS(l layout) (*natsserver.Server, error) {
	if l.opts.NATSURL != "" {
		return nil, nil
	}
	s, err := natsembed.Start(&natsserver.Options{
		ServerName: "diego-up", Host: l.host(), Port: l.opts.PortBase + natsOffset, NoLog: true, NoSigs: true,
		// No monitoring port, no cluster: one local server.
		HTTPPort: 0,
	}, ReadyTimeout)
	if errors.Is(err, natsembed.ErrNotReady) {
		return nil, fmt.Errorf("the embedded NATS server did not listen on %s within %s (is the port taken? use --port-base, or --nats URL for an existing server)", l.natsAddr(), ReadyTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("the embedded NATS server: %w", err)
	}
	return s, nil
}

// writeSSHDBundle packs BinDir/diego-sshd into the lifecycle bundle the
// file server serves. The archive is the same bytes for the same binary
// (fixed times), so the cells' caches keep it across restarts.
func writeSSHDBundle(binDir, staticDir string) error {
	src := binPath(binDir, "diego-sshd")
	f, err := os.Open(src)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w from %s: SSH into instances will not work; build it with `make build` (CGO_ENABLED=0 go build -o %s/ ./src/cmd/diego-sshd)", errNoSSHD, binDir, binDir)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	dst := filepath.Join(staticDir, filepath.FromSlash(target.SSHDBundlePath))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".bundle-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	zw := gzip.NewWriter(tmp)
	tw := tar.NewWriter(zw)
	epoch := time.Unix(0, 0)
	hdr := &tar.Header{Name: "diego-sshd", Mode: 0o755, Size: st.Size(), Typeflag: tar.TypeReg, ModTime: epoch, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// edge is the cluster's processes that reach the apps.
type edge struct {
	nats         *natsserver.Server
	fileServer   *child
	sshProxy     *child
	routeEmitter *child
	// hub is nil with --no-hub.
	hub *child
	// sshFingerprint and sshCredentials go to target.json.
	sshFingerprint, sshCredentials string
	noHub                          bool
}

// edgeConfigs adds the file server's config and lays out what it serves.
// Without a diego-sshd binary the cluster runs, but SSH into instances
// does not work; the progress output says so.
func (c *Cluster) edgeConfigs(configs map[string]any) error {
	l := c.l
	if err := os.MkdirAll(l.staticDir(), 0o755); err != nil {
		return err
	}
	if err := writeSSHDBundle(l.opts.BinDir, l.staticDir()); errors.Is(err, errNoSSHD) {
		c.progress("warning: %v", err)
	} else if err != nil {
		return fmt.Errorf("packing the diego-sshd lifecycle bundle: %w", err)
	}
	configs["file-server"] = l.fileServerConfig()
	proxy, err := l.sshProxyConfig()
	if err != nil {
		return err
	}
	if c.edge.sshFingerprint, err = proxy.HostFingerprint(); err != nil {
		return err
	}
	c.edge.sshCredentials = proxy.DiegoCredentials
	configs["ssh-proxy"] = proxy
	configs["route-emitter"] = l.routeEmitterConfig()
	c.hubConfigs(configs)
	c.edge.noHub = c.opts.NoHub
	return nil
}

// routeEmitterConfig is the route emitter's: global mode (the
// route_emitter lock in Locket), publishing to the cluster's NATS, its
// table on routesAddr for `diego routes`.
func (l layout) routeEmitterConfig() emitterdaemon.Config {
	cfg := emitterdaemon.DefaultConfig()
	cfg.BBSAddress = l.bbsURLs()
	cfg.BBSCACertFile, cfg.BBSClientCertFile, cfg.BBSClientKeyFile = l.certs.CACert, l.certs.ClientCert, l.certs.ClientKey
	cfg.LocketAddress = l.locketAddrs(0)
	cfg.LocketCACertFile, cfg.LocketClientCertFile, cfg.LocketClientKeyFile = l.certs.CACert, l.certs.ClientCert, l.certs.ClientKey
	cfg.NATSAddresses = l.natsURL()
	cfg.RoutesAddress = l.routesAddr()
	cfg.UUID = "diego-up-route-emitter"
	// Like the BBS and the auctioneer here: a restarted emitter takes its
	// lock back quickly.
	cfg.LockTTL = emitterdaemon.Duration(5 * time.Second)
	cfg.LockRetryInterval = emitterdaemon.Duration(time.Second)
	return cfg
}

// sshProxyConfig is the SSH proxy's: the diego realm only, its password
// and host key made once per cluster directory and kept.
func (l layout) sshProxyConfig() (sshproxydaemon.Config, error) {
	cfg := sshproxydaemon.DefaultConfig()
	dir := filepath.Join(l.dir, "certs", "ssh-proxy")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return cfg, err
	}
	hostKey, err := readOrCreate(filepath.Join(dir, "host-key"), sshd.NewHostKeyPEM)
	if err != nil {
		return cfg, fmt.Errorf("the SSH proxy's host key: %w", err)
	}
	creds, err := readOrCreateKey(filepath.Join(dir, "diego-credentials"))
	if err != nil {
		return cfg, fmt.Errorf("the SSH proxy's diego credentials: %w", err)
	}
	cfg.Address = l.sshProxyAddr()
	cfg.DisableHealthCheckServer = true
	cfg.HostKey = hostKey
	cfg.BBSAddress = l.bbsURLs()
	cfg.BBSCACert, cfg.BBSClientCert, cfg.BBSClientKey = l.certs.CACert, l.certs.ClientCert, l.certs.ClientKey
	cfg.EnableDiegoAuth, cfg.DiegoCredentials = true, creds
	return cfg, nil
}

// readOrCreate reads a secret file, or makes it with gen and keeps it
// (mode 0600) so a resumed cluster keeps its keys.
func readOrCreate(path string, gen func() (string, error)) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) > 0 {
		return string(b), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	v, err := gen()
	if err != nil {
		return "", err
	}
	return v, os.WriteFile(path, []byte(v), 0o600)
}

// errNoSSHD says the diego-sshd binary is not in BinDir.
var errNoSSHD = errors.New("diego-sshd is missing")

// children makes the edge's supervised processes; all are restarted when
// they exit unexpectedly.
func (e *edge) children(mk func(name, bin string, restart bool) *child) {
	e.fileServer = mk("file-server", "file-server", true)
	e.sshProxy = mk("ssh-proxy", "ssh-proxy", true)
	e.routeEmitter = mk("route-emitter", "route-emitter", true)
	if !e.noHub {
		e.hub = mk("hub", "hub", true)
	}
}

// all lists the edge's child processes.
func (e *edge) all() []*child {
	var out []*child
	for _, ch := range []*child{e.fileServer, e.sshProxy, e.routeEmitter, e.hub} {
		if ch != nil {
			out = append(out, ch)
		}
	}
	return out
}

// startEdge starts NATS (unless --nats), then the file server, each ready
// before the cells start.
func (c *Cluster) startEdge(ctx context.Context) error {
	l := c.l
	s, err := startNATS(l)
	if err != nil {
		return err
	}
	c.edge.nats = s
	if s != nil {
		c.progress("NATS on %s (embedded)", l.natsURL())
	}
	if err := c.startWait(ctx, c.edge.fileServer, "file server on "+l.fileServerURL(), func() error { return dialOK(l.fileServerAddr()) }); err != nil {
		return err
	}
	if err := c.startWait(ctx, c.edge.sshProxy, "SSH proxy on "+l.sshProxyAddr()+" (diego realm: diego ssh PROCESS_GUID/INDEX)", func() error { return dialOK(l.sshProxyAddr()) }); err != nil {
		return err
	}
	if err := c.startWait(ctx, c.edge.routeEmitter, "route emitter publishing to "+l.natsURL()+" (table: diego routes)", func() error { return dialOK(l.routesAddr()) }); err != nil {
		return err
	}
	return c.startHub(ctx)
}

// describe adds the edge's addresses to the target file.
func (e *edge) describe(l layout, t *target.File) {
	t.NATSURL = l.natsURL()
	t.FileServerURL = l.fileServerURL()
	t.RouteEmitterURL = "http://" + l.routesAddr()
	t.SSHProxyAddress = l.sshProxyAddr()
	t.SSHProxyHostFingerprint, t.SSHProxyDiegoCredentials = e.sshFingerprint, e.sshCredentials
	e.describeHub(l, t)
	for _, ch := range e.all() {
		t.PIDs[ch.name] = ch.pid()
	}
}

// stopNATS shuts the embedded NATS server down.
func (e *edge) stopNATS() {
	if e.nats != nil {
		e.nats.Shutdown()
		e.nats.WaitForShutdown()
	}
}
