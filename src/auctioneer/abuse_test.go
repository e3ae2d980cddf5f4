package auctioneer

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/diego-go/diego/src/auctionapi"
	"github.com/diego-go/diego/src/auctionapi/reftest"
	"github.com/diego-go/diego/src/internal/serve/abusetest"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/pki"
)

// TestStandsUpToAbuse: the API refuses clients without a certificate from
// its CA, cuts slow clients, answers oversized headers 431 and bodies 413
// and serves at most max_connections at once, while a well-behaved client
// is served.
func TestStandsUpToAbuse(t *testing.T) {
	b := testCerts(t)
	serverTLS, err := pki.ServerTLSConfig(b.CACert, b.ServerCert, b.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	clientTLS, err := pki.ClientTLSConfig(b.CACert, b.ClientCert, b.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Start(context.Background(), Config{
		Runner:        RunnerConfig{Cells: &staticCells{}, Reps: repFactory(t), BBS: newRecordingBBS(), BatchInterval: time.Millisecond},
		ListenAddress: testutil.FreeAddr(t), TLS: serverTLS, MaxBodyBytes: 4096, Limits: abusetest.Limits, Logger: testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	select {
	case <-a.Leading():
	case <-time.After(abusetest.Deadline):
		t.Fatal("the auctioneer did not start serving")
	}
	abusetest.Run(t, abusetest.Target{Addr: a.Addr(), TLS: clientTLS,
		Good: abusetest.Request{Method: "POST", Path: auctionapi.LRPsPath, Body: []byte(reftest.LRPsJSON), Status: http.StatusAccepted},
		Body: abusetest.Request{Method: "POST", Path: auctionapi.TasksPath},
	}, abusetest.Options{ClientCerts: true, BodyBytes: 8192})
}
