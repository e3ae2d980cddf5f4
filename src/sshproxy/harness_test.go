package sshproxy

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"testing"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/sshd"
	"github.com/diego-go/diego/src/sshd/sshtest"
)

const (
	password      = "diego-secret"
	containerPort = 2222
)

// world is a real BBS, an instance's diego-sshd on loopback and a proxy.
type world struct {
	bbs      *bbstest.Harness
	keys     InstanceKeys
	daemon   string // the daemon's address
	proxy    string // the proxy's address
	proxyKey sshtest.Key
	audit    *testutil.SyncBuffer
}

func startWorld(t testing.TB, configure func(*Config)) *world {
	t.Helper()
	w := &world{bbs: bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)}), audit: &testutil.SyncBuffer{}}
	var err error
	if w.keys, err = NewInstanceKeys(); err != nil {
		t.Fatal(err)
	}
	w.daemon = startDaemon(t, w.keys)
	w.proxyKey = sshtest.NewKey(t)
	cfg := Config{
		HostKey: w.proxyKey.Signer,
		Realms:  Realms{DiegoRealm{Credentials: []byte(password)}},
		Resolve: Resolver{BBS: w.bbs.Client}.Resolve,
		Logger:  slog.New(slog.NewJSONHandler(w.audit, nil)),
	}
	if configure != nil {
		configure(&cfg)
	}
	w.proxy = serveProxy(t, cfg)
	return w
}

func startDaemon(t testing.TB, keys InstanceKeys) string {
	t.Helper()
	host, err := ssh.ParsePrivateKey([]byte(keys.HostKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	auth, _, _, _, err := ssh.ParseAuthorizedKey([]byte(keys.AuthorizedKey))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sshd.New(sshd.Config{HostKey: host, AuthorizedKey: auth, Logger: testutil.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, srv.Serve)
}

func serveProxy(t testing.TB, cfg Config) string {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, p.Serve)
}

func serve(t testing.TB, run func(context.Context, net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serving: %v", err)
		}
	})
	return ln.Addr().String()
}

// desire desires an LRP of instances with the given diego-ssh route (nil:
// none) and starts instance 0 with its container port mapped to the
// daemon's address.
func (w *world) desire(t testing.TB, guid string, instances int32, route json.RawMessage, daemon string) {
	t.Helper()
	log := lager.NewLogger("test")
	d := &models.DesiredLRP{
		ProcessGuid: guid, Domain: "ssh-test", RootFs: "preloaded:cflinuxfs4", Instances: instances,
		MemoryMb: 32, DiskMb: 32, LogGuid: guid, Ports: []uint32{containerPort},
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: guid}},
		Action:     models.WrapAction(&models.RunAction{Path: "/tmp/lifecycle/diego-sshd", Args: w.keys.SSHDArgs(containerPort), User: "vcap"}),
	}
	if route != nil {
		d.Routes = &models.Routes{RouteKey: &route}
	}
	if err := w.bbs.Client.DesireLRP(log, "", d); err != nil {
		t.Fatalf("desiring %s: %v", guid, err)
	}
	host, port, _ := net.SplitHostPort(daemon)
	hostPort := mustAtoi(t, port)
	key := models.NewActualLRPKey(guid, 0, "ssh-test")
	ik := models.NewActualLRPInstanceKey("ig-"+guid, "cell-1")
	if err := w.bbs.Client.ClaimActualLRP(log, "", &key, &ik); err != nil {
		t.Fatalf("claiming: %v", err)
	}
	ni := models.NewActualLRPNetInfo(host, "10.255.0.9", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(uint32(hostPort), containerPort))
	if err := w.bbs.Client.StartActualLRP(log, "", &key, &ik, &ni, nil, nil, true, "z1"); err != nil {
		t.Fatalf("starting: %v", err)
	}
}

func mustAtoi(t testing.TB, s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a port: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// client is an OpenSSH client of the proxy logging in as user.
func (w *world) client(t testing.TB, user, pass string) *sshtest.Client {
	c := sshtest.NewClient(t, w.proxy, w.proxyKey.Signer.PublicKey(), user)
	c.Password = pass
	return c
}
