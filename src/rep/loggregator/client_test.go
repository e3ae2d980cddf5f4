package loggregator_test

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	v2 "code.cloudfoundry.org/go-loggregator/v8/rpc/loggregator_v2"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/loggregator"
	"github.com/diego-go/diego/src/rep/loggregator/loggregatortest"
)

var appSource = loggregator.Source{
	Tags:       map[string]string{"source_id": "app-guid", "instance_id": "2", "app_id": "app-guid", "space_id": "space"},
	SourceType: "APP/PROC/WEB",
}

func TestLinesArriveWithTheReferenceTagsAndTypes(t *testing.T) {
	certs := loggregatortest.NewCerts(t)
	srv := loggregatortest.Start(t, certs.Server, "127.0.0.1:0")
	c := newClient(t, srv.Addr, certs.Client, nil)
	out, errw := c.Writer(appSource, false), c.Writer(appSource, true)
	_, _ = io.WriteString(out, "hello\r\nwor")
	_, _ = io.WriteString(out, "ld\npartial")
	_, _ = io.WriteString(errw, "oops\n")
	out.Flush()
	got := srv.WaitFor(t, 4)
	want := map[string]v2.Log_Type{"hello": v2.Log_OUT, "world": v2.Log_OUT, "partial": v2.Log_OUT, "oops": v2.Log_ERR}
	for _, e := range got {
		l := e.GetLog()
		typ, ok := want[string(l.GetPayload())]
		if !ok || l.Type != typ {
			t.Errorf("unexpected line %q type %v", l.GetPayload(), l.GetType())
		}
		delete(want, string(l.GetPayload()))
		if e.SourceId != "app-guid" || e.InstanceId != "2" || e.Timestamp == 0 {
			t.Errorf("envelope source_id %q instance_id %q timestamp %d", e.SourceId, e.InstanceId, e.Timestamp)
		}
		for k, v := range map[string]string{"source_type": "APP/PROC/WEB", "source_id": "app-guid", "instance_id": "2", "app_id": "app-guid", "space_id": "space"} {
			if e.Tags[k] != v {
				t.Errorf("tag %s = %q, want %q (tags %v)", k, e.Tags[k], v, e.Tags)
			}
		}
	}
	if len(want) != 0 {
		t.Errorf("lines missing: %v", want)
	}
	if c.Dropped() != 0 {
		t.Errorf("dropped %d", c.Dropped())
	}
}

func TestUnreachableOrStalledAgentNeverBlocksTheWriter(t *testing.T) {
	certs := loggregatortest.NewCerts(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close()
	stalled := loggregatortest.Start(t, certs.Server, "127.0.0.1:0")
	stalled.Stall.Store(true)
	for name, addr := range map[string]string{"unreachable": closed, "stalled": stalled.Addr} {
		t.Run(name, func(t *testing.T) {
			c, err := loggregator.New(loggregator.Config{Address: addr, TLS: certs.Client, BufferSize: 10, BatchSize: 5, BatchInterval: 10 * time.Millisecond, RetryInterval: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			w := c.Writer(appSource, false)
			const lines = 2000
			line := strings.Repeat("x", 4095) + "\n" // 8 MB in all: more than gRPC's flow-control windows
			done := make(chan struct{})
			go func() {
				defer close(done)
				for range lines {
					_, _ = io.WriteString(w, line)
				}
			}()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("the writer blocked")
			}
			// Besides what gRPC's windows took (Sent), at most the buffer, the
			// batch being collected and one on the wire are held.
			d, sent := c.Dropped(), c.Sent()
			if d == 0 || d+sent < lines-10-5-5 {
				t.Errorf("dropped %d and sent %d of %d lines, want drops and at least %d accounted for", d, sent, lines, lines-20)
			}
			if name == "unreachable" && sent != 0 {
				t.Errorf("sent %d to an unreachable agent", sent)
			}
		})
	}
}

func TestReconnectsAfterTheAgentRestarts(t *testing.T) {
	certs := loggregatortest.NewCerts(t)
	srv := loggregatortest.Start(t, certs.Server, "127.0.0.1:0")
	c := newClient(t, srv.Addr, certs.Client, nil)
	w := c.Writer(appSource, false)
	_, _ = io.WriteString(w, "before\n")
	srv.WaitFor(t, 1)
	srv.GRPC.Stop()
	srv2 := loggregatortest.Start(t, certs.Server, srv.Addr)
	testutil.Eventually(t, 30*time.Second, "a line reaches the restarted agent", func() (bool, string) {
		_, _ = io.WriteString(w, "after\n")
		n := len(srv2.Envelopes())
		return n > 0, "none yet"
	})
	if got := string(srv2.Envelopes()[0].GetLog().GetPayload()); got != "after" {
		t.Errorf("first line after restart %q", got)
	}
}

func TestMutualTLSRejectsAWrongCA(t *testing.T) {
	certs, other := loggregatortest.NewCerts(t), loggregatortest.NewCerts(t)
	srv := loggregatortest.Start(t, certs.Server, "127.0.0.1:0")
	for name, clientTLS := range map[string]*tls.Config{
		"server not signed by the trusted CA": mixTLS(other.Client, certs.Client), // trusts the other CA
		"client certificate from another CA":  mixTLS(certs.Client, other.Client),
	} {
		t.Run(name, func(t *testing.T) {
			logs := &testutil.SyncBuffer{}
			c := newClient(t, srv.Addr, clientTLS, slog.New(slog.NewTextHandler(logs, nil)))
			w := c.Writer(appSource, false)
			testutil.Eventually(t, 30*time.Second, "the client reports a failed send", func() (bool, string) {
				_, _ = io.WriteString(w, "secret\n")
				s := logs.String()
				return strings.Contains(s, "loggregator:"), s
			})
			if n := len(srv.Envelopes()); n != 0 || c.Sent() != 0 {
				t.Errorf("server received %d envelopes, client sent %d, over a rejected TLS connection", n, c.Sent())
			}
		})
	}
}

// mixTLS is a client config trusting roots' CA and presenting id's certificate.
func mixTLS(roots, id *tls.Config) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots.RootCAs, Certificates: id.Certificates}
}

func newClient(t testing.TB, addr string, tlsCfg *tls.Config, log *slog.Logger) *loggregator.Client {
	t.Helper()
	c, err := loggregator.New(loggregator.Config{Address: addr, TLS: tlsCfg, BatchInterval: 10 * time.Millisecond, RetryInterval: 50 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// BenchmarkWriter is the writer's cost per line with an agent reading.
func BenchmarkWriter(b *testing.B) {
	certs := loggregatortest.NewCerts(b)
	srv := loggregatortest.Start(b, certs.Server, "127.0.0.1:0")
	c := newClient(b, srv.Addr, certs.Client, nil)
	w := c.Writer(appSource, false)
	line := []byte(strings.Repeat("x", 100) + "\n")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_, _ = w.Write(line)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(c.Dropped())/float64(b.N), "dropped/line")
}

// BenchmarkDelivered is the sender's throughput: lines written at once into
// a buffer that holds them all, until the agent has received every one.
func BenchmarkDelivered(b *testing.B) {
	certs := loggregatortest.NewCerts(b)
	srv := loggregatortest.Start(b, certs.Server, "127.0.0.1:0")
	c, err := loggregator.New(loggregator.Config{Address: srv.Addr, TLS: certs.Client, BufferSize: b.N, BatchInterval: 10 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	w := c.Writer(appSource, false)
	line := []byte(strings.Repeat("x", 100) + "\n")
	b.ResetTimer()
	for range b.N {
		_, _ = w.Write(line)
	}
	srv.WaitFor(b, b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
