package bbsaddr

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
	"github.com/gogo/protobuf/proto"

	"github.com/diego-go/diego/src/pki"
)

// fakeBBS answers the domains route with its name, over mutual TLS.
func fakeBBS(t *testing.T, certs *pki.Bundle, name string, hits *atomic.Int32) *httptest.Server {
	t.Helper()
	tlsCfg, err := pki.ServerTLSConfig(certs.CACert, certs.ServerCert, certs.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := proto.Marshal(&models.DomainsResponse{Domains: []string{name}})
		w.Header().Set("Content-Type", bbs.ProtoContentType)
		_, _ = w.Write(b)
	}))
	s.TLS = tlsCfg
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestClientFailsOverToTheServingBBS(t *testing.T) {
	certs, err := pki.GenerateLocal(t.TempDir(), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	var hitsA, hitsB atomic.Int32
	standby := "https://" + closedAddr(t)
	a := fakeBBS(t, certs, "a", &hitsA)
	cl, err := NewClient(bbs.ClientConfig{URL: standby + "," + a.URL, IsTLS: true,
		CAFile: certs.CACert, CertFile: certs.ClientCert, KeyFile: certs.ClientKey})
	if err != nil {
		t.Fatal(err)
	}
	log := lager.NewLogger("t")
	if d, err := cl.Domains(log, ""); err != nil || len(d) != 1 || d[0] != "a" {
		t.Fatalf("Domains through a standby's closed port: %v, %v; want [a]", d, err)
	}
	// The serving one is remembered: it is asked first from now on.
	if _, err := cl.Domains(log, ""); err != nil || hitsA.Load() != 2 {
		t.Fatalf("second call: %v, hits %d", err, hitsA.Load())
	}
	// The leader dies; a new one serves at the first address.
	a.Close()
	b := fakeBBS(t, certs, "b", &hitsB)
	cl, err = NewClient(bbs.ClientConfig{URL: a.URL + "," + b.URL, IsTLS: true,
		CAFile: certs.CACert, CertFile: certs.ClientCert, KeyFile: certs.ClientKey})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := cl.Domains(log, ""); err != nil || d[0] != "b" {
		t.Fatalf("Domains after the leader died: %v, %v; want [b]", d, err)
	}
	if !cl.Ping(log, "") && hitsB.Load() == 0 {
		t.Fatal("no request reached the serving BBS")
	}
	// Nothing serves: the transport error comes back after the rounds.
	b.Close()
	if _, err := cl.Domains(log, ""); err == nil {
		t.Fatal("Domains with every BBS down: no error")
	}
}

func TestDialerTriesEachAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, _ = io.WriteString(c, "hello")
			c.Close()
		}
	}()
	dead := closedAddr(t)
	d := NewDialer([]string{dead, ln.Addr().String()})
	c, err := d.DialContext(context.Background(), "tcp", dead)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if string(b) != "hello" {
		t.Fatalf("read %q from the live address", b)
	}
	ln.Close()
	if _, err := d.DialContext(context.Background(), "tcp", dead); err == nil || !strings.Contains(err.Error(), "none of") {
		t.Fatalf("dial with nothing listening: %v", err)
	}
}

func TestHostPorts(t *testing.T) {
	got, err := HostPorts("locket_address", "127.0.0.1:1, 127.0.0.1:2")
	if err != nil || len(got) != 2 || got[1] != "127.0.0.1:2" {
		t.Fatalf("HostPorts: %v, %v", got, err)
	}
	if _, err := HostPorts("locket_address", "127.0.0.1:1,nope"); err == nil || !strings.Contains(err.Error(), "locket_address") {
		t.Fatalf("HostPorts with a bad entry: %v", err)
	}
}
