package locket

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"code.cloudfoundry.org/clock"
	"code.cloudfoundry.org/lager/v3"
	reflocket "code.cloudfoundry.org/locket"
	"code.cloudfoundry.org/locket/lock"
	"code.cloudfoundry.org/locket/models"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/locket/sqllock"
	"github.com/diego-go/diego/src/pki"
)

// grpcServer serves a Service on a loopback port over mutual TLS with the
// certificates of a fresh local bundle, and returns its address. adjust,
// when given, changes the TLS config NewGRPCServer gets.
func grpcServer(t *testing.T, svc *Service, adjust ...func(*tls.Config)) (string, *pki.Bundle) {
	t.Helper()
	m := testutil.MutualTLS(t)
	tlsCfg := m.Server
	for _, f := range adjust {
		f(tlsCfg)
	}
	srv := NewGRPCServer(svc, tlsCfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String(), m.Bundle
}

func lagerLogger(t *testing.T) lager.Logger {
	l := lager.NewLogger("test")
	l.RegisterSink(lager.NewSlogSink(testLogger(t)))
	return l
}

// referenceClient connects with the reference's own client code.
func referenceClient(t *testing.T, addr string, b *pki.Bundle) models.LocketClient {
	t.Helper()
	c, err := reflocket.NewClient(lagerLogger(t), reflocket.ClientLocketConfig{
		LocketAddress: addr, LocketCACertFile: b.CACert, LocketClientCertFile: b.ClientCert, LocketClientKeyFile: b.ClientKey,
	})
	if err != nil {
		t.Fatalf("locket.NewClient: %v", err)
	}
	return c
}

// runner runs a reference lock or presence runner the way ifrit would.
type runner struct {
	signals chan os.Signal
	ready   chan struct{}
	exited  chan error
}

func startRunner(r interface {
	Run(<-chan os.Signal, chan<- struct{}) error
}) *runner {
	rn := &runner{signals: make(chan os.Signal, 1), ready: make(chan struct{}), exited: make(chan error, 1)}
	go func() { rn.exited <- r.Run(rn.signals, rn.ready) }()
	return rn
}

func (r *runner) stop(t *testing.T) {
	t.Helper()
	r.signals <- os.Interrupt
	select {
	case err := <-r.exited:
		if err != nil {
			t.Errorf("runner exited with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("runner did not stop")
	}
}

func isReady(r *runner, within time.Duration) bool {
	select {
	case <-r.ready:
		return true
	case <-time.After(within):
		return false
	}
}

func TestReferenceClientInterop(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, open func() *sqllock.Store) {
		ctx := context.Background()
		addr, b := grpcServer(t, newService(t, Config{Store: open()}))
		c := referenceClient(t, addr, b)
		ours := NewGRPCClient(c)

		// Lock, collision, fetch, release.
		if _, err := c.Lock(ctx, lockReq("bbs", "bbs-0", models.LOCK, 10)); err != nil {
			t.Fatalf("Lock: %v", err)
		}
		_, err := c.Lock(ctx, lockReq("bbs", "bbs-1", models.LOCK, 10))
		wantCode(t, "second owner", err, codes.AlreadyExists, "lock-collision")
		resp, err := c.Fetch(ctx, &models.FetchRequest{Key: "bbs"})
		if err != nil || resp.Resource.Owner != "bbs-0" || resp.Resource.TypeCode != models.LOCK {
			t.Fatalf("Fetch = %v, %v", resp, err)
		}
		_, err = c.Lock(ctx, lockReq("x", "o", models.LOCK, 0))
		wantCode(t, "zero ttl over gRPC", err, codes.InvalidArgument, "invalid-ttl")
		if _, err := c.Release(ctx, &models.ReleaseRequest{Resource: &models.Resource{Key: "bbs", Owner: "bbs-0", TypeCode: models.LOCK}}); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if code := fetchCode(ours, "bbs"); code != codes.NotFound {
			t.Fatalf("Fetch after release: %s", code)
		}

		// The reference's runners: two contenders for one lock, one presence.
		l := lagerLogger(t)
		lockOf := func(owner string) *models.Resource {
			return &models.Resource{Key: "auctioneer", Owner: owner, TypeCode: models.LOCK}
		}
		first := startRunner(lock.NewLockRunner(l, c, lockOf("auctioneer-0"), 2, clock.NewClock(), 200*time.Millisecond))
		if !isReady(first, 3*time.Second) {
			t.Fatal("lock runner did not acquire a free lock")
		}
		second := startRunner(lock.NewLockRunner(l, c, lockOf("auctioneer-1"), 2, clock.NewClock(), 200*time.Millisecond))
		presence := startRunner(lock.NewPresenceRunner(l, c,
			&models.Resource{Key: "cell-1", Owner: "cell-1", Value: `{"cell_id":"cell-1"}`, TypeCode: models.PRESENCE},
			2, clock.NewClock(), 200*time.Millisecond))
		if !isReady(presence, 3*time.Second) {
			t.Fatal("presence runner did not register")
		}
		// Held past its 2s TTL by the refreshes, while the contender waits.
		if isReady(second, 2500*time.Millisecond) {
			t.Fatal("a second owner acquired a held lock")
		}
		for code, want := range map[models.TypeCode]string{models.LOCK: "auctioneer", models.PRESENCE: "cell-1"} {
			all, err := c.FetchAll(ctx, &models.FetchAllRequest{TypeCode: code})
			if err != nil || keys(all.Resources) != want {
				t.Errorf("FetchAll(%s) = %v, %v; want %s", code, all, err, want)
			}
		}
		if resp, err := c.Fetch(ctx, &models.FetchRequest{Key: "auctioneer"}); err != nil || resp.Resource.Owner != "auctioneer-0" {
			t.Fatalf("auctioneer lock = %v, %v; want held by auctioneer-0", resp, err)
		}
		// The holder stops (releasing): the contender takes over.
		first.stop(t)
		if !isReady(second, 3*time.Second) {
			t.Fatal("the contender did not acquire the released lock")
		}
		second.stop(t)
		presence.stop(t)
		if all, err := c.FetchAll(ctx, &models.FetchAllRequest{TypeCode: models.PRESENCE}); err != nil || len(all.Resources) != 0 {
			t.Errorf("presences after the runner stopped = %v, %v; want none", all, err)
		}

		// Expiry when the holder stops refreshing, and an expired owner
		// cannot steal the lock back from its new owner.
		if _, err := c.Lock(ctx, lockReq("cell-2", "rep-a", models.PRESENCE, 1)); err != nil {
			t.Fatal(err)
		}
		eventually(t, 2500*time.Millisecond, "unrefreshed presence expires", func() bool { return fetchCode(ours, "cell-2") == codes.NotFound })
		if _, err := c.Lock(ctx, lockReq("cell-2", "rep-b", models.PRESENCE, 10)); err != nil {
			t.Fatalf("new owner: %v", err)
		}
		_, err = c.Lock(ctx, lockReq("cell-2", "rep-a", models.PRESENCE, 1))
		wantCode(t, "expired owner", err, codes.AlreadyExists, "lock-collision")
	})
}

// TestMutualTLSRequired: clients without a certificate, or with one from
// another CA, are refused, even if the server's TLS config asks for less.
func TestMutualTLSRequired(t *testing.T) {
	t.Parallel()
	st, err := sqllock.Open(context.Background(), sqldb.Config{Driver: sqldb.DriverSQLite, DSN: filepath.Join(t.TempDir(), "l.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// NewGRPCServer must not honour a laxer ClientAuth.
	svc := newService(t, Config{Store: st})
	addr, b := grpcServer(t, svc, func(c *tls.Config) { c.ClientAuth = tls.VerifyClientCertIfGiven })

	rootsOnly, err := pki.LoadCAPool(b.CACert)
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := pki.NewCA("other-ca")
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := otherCA.Issue(pki.IssueOptions{CommonName: "rogue", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	rogueCert, err := rogue.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	good, err := pki.ClientTLSConfig(b.CACert, b.ClientCert, b.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*tls.Config{
		"no certificate":         {RootCAs: rootsOnly, MinVersion: tls.VersionTLS12},
		"another CA's":           {RootCAs: rootsOnly, MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{rogueCert}},
		"our CA's (the control)": good,
	} {
		conn, err := Dial(addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err = conn.Lock(ctx, lockReq("k", name, models.LOCK, 10))
		cancel()
		conn.Close()
		if cfg == good {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if status.Code(err) != codes.Unavailable {
			t.Errorf("client with %s: got %v; want the connection refused (Unavailable)", name, err)
		}
	}
	if all, err := svc.LocalClient().FetchAll(context.Background(), &models.FetchAllRequest{TypeCode: models.LOCK}); err != nil || keys(all.Resources) != "k" {
		t.Errorf("locks = %v, %v; want only the control's", all, err)
	}
}
