package serve_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/internal/serve"
	"github.com/diego-go/diego/src/internal/serve/abusetest"
	"github.com/diego-go/diego/src/internal/testutil"
)

// start serves a handler that echoes a bounded body, with l and mutual TLS.
func start(t *testing.T, l serve.Limits) abusetest.Target {
	t.Helper()
	m := testutil.MutualTLS(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) {})
	mux.HandleFunc("POST /body", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1024)); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := l.Apply(&http.Server{Handler: mux, TLSConfig: m.Server})
	go func() { _ = srv.ServeTLS(l.Listener(ln), "", "") }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return abusetest.Target{Addr: ln.Addr().String(), TLS: m.Client,
		Good: abusetest.Request{Method: "GET", Path: "/ping"}, Body: abusetest.Request{Method: "POST", Path: "/body"}}
}

func TestLimitsStandUpToAbuse(t *testing.T) {
	abusetest.Run(t, start(t, abusetest.Limits), abusetest.Options{ClientCerts: true, BodyBytes: 4096})
}

// TestChecksFailWithoutLimits shows the checks can fail: a server with its
// limits turned off serves beyond any count of connections and keeps slow
// clients.
func TestChecksFailWithoutLimits(t *testing.T) {
	off := serve.Limits{ReadHeaderTimeout: -1, ReadTimeout: -1, WriteTimeout: -1, IdleTimeout: -1, MaxConnections: -1}
	srv := off.Apply(&http.Server{})
	if srv.ReadHeaderTimeout != 0 || srv.ReadTimeout != 0 || srv.WriteTimeout != 0 {
		t.Fatalf("negative limits did not turn the timeouts off: %+v", srv)
	}
	tg := start(t, off)
	rec := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		abusetest.CheckConnectionLimit(rec, tg, 2)
	}()
	<-done
	if !strings.Contains(rec.msg, "beyond max_connections 2 was answered") {
		t.Fatalf("the check against an unlimited server reported %q", rec.msg)
	}
	rec = &recorder{}
	done = make(chan struct{})
	go func() {
		defer close(done)
		tg.Deadline = 3 * time.Second
		abusetest.CheckSlowClients(rec, tg, 1)
	}()
	<-done
	if !strings.Contains(rec.msg, "the server kept a slow client") {
		t.Fatalf("the slow-client check against a server without timeouts reported %q", rec.msg)
	}
}

// recorder is an abusetest.T that records the first failure.
type recorder struct{ msg string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	if r.msg == "" {
		r.msg = fmt.Sprintf(format, args...)
	}
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func TestLimitsDefaultsAndValidate(t *testing.T) {
	l := serve.Limits{MaxConnections: 5}.Or(serve.DefaultLimits)
	if l.MaxConnections != 5 || l.ReadHeaderTimeout != serve.DefaultLimits.ReadHeaderTimeout || l.MaxHeaderBytes != serve.DefaultLimits.MaxHeaderBytes {
		t.Fatalf("Or = %+v", l)
	}
	srv := serve.Limits{}.Apply(&http.Server{})
	if srv.ReadHeaderTimeout != 10*time.Second || srv.ReadTimeout != time.Minute || srv.MaxHeaderBytes != 64<<10 || srv.IdleTimeout != 2*time.Minute {
		t.Fatalf("defaults applied: %+v", srv)
	}
	if err := serve.DefaultLimits.Validate("server_limits"); err != nil {
		t.Fatal(err)
	}
	err := serve.Limits{MaxHeaderBytes: 10, ReadHeaderTimeout: jsonconfig.Duration(time.Minute), ReadTimeout: jsonconfig.Duration(time.Second)}.Validate("server_limits")
	for _, want := range []string{"server_limits.max_header_bytes 10", "server_limits.read_timeout 1s is shorter"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want %q", err, want)
		}
	}
}

// TestLimitedListenerCloseEndsAWaitingAccept: an Accept waiting for a slot
// returns net.ErrClosed when the listener closes, and a closed connection
// frees its slot once.
func TestLimitedListenerCloseEndsAWaitingAccept(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := serve.Limits{MaxConnections: 1}.Listener(inner)
	dial := func() net.Conn {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dial()
	first, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	dial()
	first.Close()
	first.Close() // a second close frees nothing more
	second, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept after the first connection closed: %v", err)
	}
	defer second.Close()
	accepted := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		accepted <- err
	}()
	ln.Close()
	select {
	case err := <-accepted:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("waiting Accept = %v, want net.ErrClosed", err)
		}
	case <-time.After(abusetest.Deadline):
		t.Fatal("a waiting Accept did not return when the listener closed")
	}
}
