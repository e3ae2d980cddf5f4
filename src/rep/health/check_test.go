package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// resolverTo maps container port 8080 to addr.
func resolverTo(addr string) Resolver {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return HostPortResolver(host, map[uint32]uint32{8080: uint32(p)})
}

// closedAddr is an address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestTCPCheck(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	def := &models.Check{TcpCheck: &models.TCPCheck{Port: 8080, ConnectTimeoutMs: 200}}
	c, err := NewChecker(def, resolverTo(l.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("check against listener: %v", err)
	}
	// Named as the reference's healthcheck names it from inside the
	// container: its IP and the declared port, not the host mapping.
	c, _ = NewChecker(def, resolverTo(closedAddr(t)))
	err = c.Check(context.Background())
	if want := "failed to make TCP connection to 127.0.0.1:8080: dial tcp 127.0.0.1:8080: connect: connection refused"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	c, _ = NewChecker(&models.Check{TcpCheck: &models.TCPCheck{Port: 9090}}, resolverTo(l.Addr().String()))
	if err := c.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "port 9090 is not mapped") {
		t.Fatalf("err = %v", err)
	}
}

func TestHTTPCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			if r.Header.Get("User-Agent") != "diego-healthcheck" {
				w.WriteHeader(http.StatusBadRequest)
			}
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		case "/redirect":
			http.Redirect(w, r, "/health", http.StatusFound)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	tests := []struct {
		path, addr string
		want       string // "" = healthy; else error prefix
	}{
		{path: "/health", addr: addr},
		{path: "/redirect", addr: addr},
		{path: "/down", addr: addr, want: "failed to make HTTP request to '/down' on port 8080: received status code 503 in "},
		{path: "/slow", addr: addr, want: "failed to make HTTP request to '/slow' on port 8080: timed out after 0.10 seconds"},
		{path: "/health", addr: closedAddr(t), want: "failed to make HTTP request to '/health' on port 8080: connection refused"},
	}
	for _, tt := range tests {
		c, err := NewChecker(&models.Check{HttpCheck: &models.HTTPCheck{Port: 8080, Path: tt.path, RequestTimeoutMs: 100}}, resolverTo(tt.addr))
		if err != nil {
			t.Fatal(err)
		}
		err = c.Check(context.Background())
		if tt.want == "" && err != nil {
			t.Errorf("%s: %v", tt.path, err)
		}
		if tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)) {
			t.Errorf("%s: err = %v, want %q", tt.path, err, tt.want)
		}
	}
}

func TestNewCheckerDefaults(t *testing.T) {
	r := HostPortResolver("127.0.0.1", nil)
	c, err := NewChecker(&models.Check{HttpCheck: &models.HTTPCheck{Port: 8080, IntervalMs: 5000}}, r)
	if err != nil {
		t.Fatal(err)
	}
	h := c.(*HTTPChecker)
	if h.Path != "/" || h.Timeout != time.Second || h.Interval() != 5*time.Second {
		t.Errorf("defaults: %+v", h)
	}
	c, _ = NewChecker(&models.Check{TcpCheck: &models.TCPCheck{Port: 8080}}, r)
	if tc := c.(*TCPChecker); tc.Timeout != time.Second || tc.Interval() != 0 {
		t.Errorf("defaults: %+v", tc)
	}
	for _, bad := range []*models.Check{nil, {}, {TcpCheck: &models.TCPCheck{}}, {HttpCheck: &models.HTTPCheck{}},
		{TcpCheck: &models.TCPCheck{Port: 1}, HttpCheck: &models.HTTPCheck{Port: 1}}} {
		if _, err := NewChecker(bad, r); err == nil {
			t.Errorf("NewChecker(%v) succeeded", bad)
		}
	}
}
