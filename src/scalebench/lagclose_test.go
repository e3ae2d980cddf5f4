package scalebench

import (
	"context"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
)

// TestLagCloseWhileResubscribing ends every stream (the BBS stops) and
// points the resubscriptions at a server that accepts connections and never
// answers, as an overloaded BBS at its connection limit does: the reference
// client waits forever, and Close must still return promptly (the driver
// hung there after a PostgreSQL run's phase timeout).
func TestLagCloseWhileResubscribing(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)})
	logger := lager.NewLogger("scalebench-test")

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		held     []net.Conn
		accepted atomic.Int32
	)
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			accepted.Add(1)
		}
	}()
	t.Cleanup(func() {
		silent.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	mute, err := bbs.NewClientWithConfig(bbs.ClientConfig{URL: "https://" + silent.Addr().String(), IsTLS: true,
		CAFile: h.Certs.CACert, CertFile: h.Certs.ClientCert, KeyFile: h.Certs.ClientKey})
	if err != nil {
		t.Fatal(err)
	}

	const k = 3
	var subscribed atomic.Int32
	meter, err := StartLag(context.Background(), LagConfig{
		Subscribers: k, Resubscribe: true, CloseWait: 2 * time.Second,
		Subscribe: func(int) (events.EventSource, error) {
			if subscribed.Add(1) <= k {
				return h.Client.SubscribeToInstanceEvents(logger)
			}
			return mute.SubscribeToInstanceEvents(logger)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.Stop(t)
	waitFor(t, "every subscriber to be resubscribing to the silent server", func() bool { return accepted.Load() >= k })

	closed := make(chan error, 1)
	go func() { closed <- meter.Close() }()
	select {
	case err := <-closed:
		// The subscriptions in flight are abandoned, so every reader ends.
		if err != nil {
			t.Errorf("Close returned %v, want every reader ended", err)
		}
	case <-time.After(time.Minute):
		buf := make([]byte, 4<<20)
		t.Fatalf("Close did not return within a minute; goroutines:\n%s", buf[:runtime.Stack(buf, true)])
	}
	if err := meter.Close(); err != nil {
		t.Errorf("a second Close returned %v", err)
	}
}
