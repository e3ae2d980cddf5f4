// Package sshproxytest runs an SSH proxy in front of a real BBS and an
// instance's diego-sshd on loopback, for tests that go through it.
package sshproxytest

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
	"github.com/diego-go/diego/src/sshproxy"
)

// Password is the diego realm's password; ContainerPort the daemon's port
// in the instance's container.
const (
	Password      = "diego-secret"
	ContainerPort = 2222
)

// World is a real BBS, an instance's diego-sshd on loopback and a proxy.
type World struct {
	BBS      *bbstest.Harness
	Keys     sshproxy.InstanceKeys
	Daemon   string // the daemon's address
	Proxy    string // the proxy's address
	ProxyKey sshtest.Key
	// Audit holds the proxy's log (JSON lines).
	Audit *testutil.SyncBuffer
}

// Start starts a world; configure adjusts the proxy's Config.
func Start(t testing.TB, configure func(*sshproxy.Config)) *World {
	t.Helper()
	w := &World{BBS: bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)}), Audit: &testutil.SyncBuffer{}}
	var err error
	if w.Keys, err = sshproxy.NewInstanceKeys(); err != nil {
		t.Fatal(err)
	}
	w.Daemon = StartDaemon(t, w.Keys)
	w.ProxyKey = sshtest.NewKey(t)
	cfg := sshproxy.Config{
		HostKey: w.ProxyKey.Signer,
		Realms:  sshproxy.Realms{sshproxy.DiegoRealm{Credentials: []byte(Password)}},
		Resolve: sshproxy.Resolver{BBS: w.BBS.Client}.Resolve,
		Logger:  slog.New(slog.NewJSONHandler(w.Audit, nil)),
	}
	if configure != nil {
		configure(&cfg)
	}
	p, err := sshproxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.Proxy = serve(t, p.Serve)
	return w
}

// StartDaemon serves an in-process diego-sshd with keys on loopback and
// returns its address.
func StartDaemon(t testing.TB, keys sshproxy.InstanceKeys) string {
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

// Desire desires an LRP of instances with the given diego-ssh route (nil:
// none) and starts instance 0 with its container port mapped to the
// daemon's address.
func (w *World) Desire(t testing.TB, guid string, instances int32, route json.RawMessage, daemon string) {
	t.Helper()
	log := lager.NewLogger("test")
	d := &models.DesiredLRP{
		ProcessGuid: guid, Domain: "ssh-test", RootFs: "preloaded:cflinuxfs4", Instances: instances,
		MemoryMb: 32, DiskMb: 32, LogGuid: guid, Ports: []uint32{ContainerPort},
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: guid}},
		Action:     models.WrapAction(&models.RunAction{Path: "/tmp/lifecycle/diego-sshd", Args: w.Keys.SSHDArgs(ContainerPort), User: "vcap"}),
	}
	if route != nil {
		d.Routes = &models.Routes{sshproxy.RouteKey: &route}
	}
	if err := w.BBS.Client.DesireLRP(log, "", d); err != nil {
		t.Fatalf("desiring %s: %v", guid, err)
	}
	host, port, _ := net.SplitHostPort(daemon)
	hostPort := mustAtoi(t, port)
	key := models.NewActualLRPKey(guid, 0, "ssh-test")
	ik := models.NewActualLRPInstanceKey("ig-"+guid, "cell-1")
	if err := w.BBS.Client.ClaimActualLRP(log, "", &key, &ik); err != nil {
		t.Fatalf("claiming: %v", err)
	}
	ni := models.NewActualLRPNetInfo(host, "10.255.0.9", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(uint32(hostPort), ContainerPort))
	if err := w.BBS.Client.StartActualLRP(log, "", &key, &ik, &ni, nil, nil, true, "z1"); err != nil {
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

// Client is an OpenSSH client of the proxy logging in as user with pass.
func (w *World) Client(t testing.TB, user, pass string) *sshtest.Client {
	c := sshtest.NewClient(t, w.Proxy, w.ProxyKey.Signer.PublicKey(), user)
	c.Password = pass
	return c
}
