package auctioneer

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lmodels "code.cloudfoundry.org/locket/models"

	"github.com/diego-go/diego/src/auctionapi"
	"github.com/diego-go/diego/src/auctionapi/reftest"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/locket/lease"
	"github.com/diego-go/diego/src/locket/lockettest"
	"github.com/diego-go/diego/src/pki"
)

// cutLocket is a Locket client whose Lock calls can be made to fail, as
// when Locket becomes unreachable.
type cutLocket struct {
	locket.Client
	cut atomic.Bool
}

func (c *cutLocket) Lock(ctx context.Context, req *lmodels.LockRequest) (*lmodels.LockResponse, error) {
	if c.cut.Load() {
		return nil, errors.New("locket unreachable")
	}
	return c.Client.Lock(ctx, req)
}

func newLocket(t *testing.T) *locket.Service {
	svc, _ := lockettest.New(t)
	return svc
}

func mtlsClient(t *testing.T) *http.Client {
	t.Helper()
	b := testCerts(t)
	cfg, err := pki.ClientTLSConfig(b.CACert, b.ClientCert, b.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}

func startAuctioneer(t *testing.T, client locket.Client, addr, owner string) *Auctioneer {
	t.Helper()
	b := testCerts(t)
	serverTLS, err := pki.ServerTLSConfig(b.CACert, b.ServerCert, b.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Start(context.Background(), Config{
		Runner:        RunnerConfig{Cells: &staticCells{}, Reps: repFactory(t), BBS: newRecordingBBS(), BatchInterval: time.Millisecond},
		ListenAddress: addr, TLS: serverTLS, Locket: client, LockOwner: owner,
		LockTTL: 2 * time.Second, LockRetryInterval: 400 * time.Millisecond, Logger: testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	return a
}

// TestServesOnlyWhileHoldingTheLock: a standby keeps its port closed while
// another owner holds the auctioneer lock, serves over mutual TLS once it
// takes the lock, and stops serving as soon as it can no longer refresh it.
func TestServesOnlyWhileHoldingTheLock(t *testing.T) {
	svc := newLocket(t)
	other := &lmodels.Resource{Key: DefaultLockKey, Owner: "other", TypeCode: lmodels.LOCK}
	if _, err := svc.LocalClient().Lock(context.Background(), &lmodels.LockRequest{Resource: other, TtlInSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	client := &cutLocket{Client: svc.LocalClient()}
	addr := testutil.FreeAddr(t)
	a := startAuctioneer(t, client, addr, "me")

	time.Sleep(1500 * time.Millisecond)
	if a.IsLeading() || a.Addr() != "" {
		t.Fatal("serving while another owner holds the lock")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatal("API port open on a standby")
	}

	if _, err := svc.LocalClient().Release(context.Background(), &lmodels.ReleaseRequest{Resource: other}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Leading():
	case <-time.After(5 * time.Second):
		t.Fatal("did not take the released lock")
	}
	resp, err := mtlsClient(t).Post("https://"+addr+auctionapi.LRPsPath, "application/json", strings.NewReader(reftest.LRPsJSON))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST while leading: %d", resp.StatusCode)
	}
	noCert := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if resp, err := noCert.Post("https://"+addr+auctionapi.LRPsPath, "application/json", strings.NewReader("[]")); err == nil {
		resp.Body.Close()
		t.Fatal("a client without a certificate was served")
	}

	client.cut.Store(true)
	done := make(chan error, 1)
	go func() { done <- a.Wait(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, lease.ErrExpired) {
			t.Fatalf("Wait = %v; want the lease expired", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still running 5s after Locket became unreachable (ttl 2s)")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatal("API port still open after the lock was lost")
	}
}

// TestOneOfTwoServes: two auctioneers on one Locket; only one serves, and
// the standby takes over when the leader stops.
func TestOneOfTwoServes(t *testing.T) {
	svc := newLocket(t)
	a1 := startAuctioneer(t, svc.LocalClient(), testutil.FreeAddr(t), "a1")
	select {
	case <-a1.Leading():
	case <-time.After(5 * time.Second):
		t.Fatal("first auctioneer did not lead")
	}
	a2 := startAuctioneer(t, svc.LocalClient(), testutil.FreeAddr(t), "a2")
	time.Sleep(time.Second)
	if a2.IsLeading() {
		t.Fatal("both auctioneers serve")
	}
	if err := a1.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a2.Leading():
	case <-time.After(5 * time.Second):
		t.Fatal("standby did not take over after the leader released the lock")
	}
}
