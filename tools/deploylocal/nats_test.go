package deploylocal

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// natsConnect speaks NATS's text protocol: it reads the server's INFO, sends
// CONNECT (verbose, so the server answers +OK or -ERR) and returns the answer.
func natsConnect(t *testing.T, addr, user, pass string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	info, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(info, "INFO ") {
		t.Fatalf("first line from NATS: %q (%v), want INFO", info, err)
	}
	if _, err := c.Write([]byte(`CONNECT {"verbose":true,"user":"` + user + `","pass":"` + pass + `"}` + "\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the answer to CONNECT: %v", err)
	}
	return strings.TrimSpace(line)
}

// TestEmbeddedNATS: the NATS server deploy-local embeds takes the user and
// password of the manifest's route_emitter job (as ops-files/test/local-deployment.yml
// sets them) and refuses other credentials.
func TestEmbeddedNATS(t *testing.T) {
	repo, err := boshrel.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	vs := filepath.Join(t.TempDir(), "vars.yml")
	b, err := boshrel.Interpolate(boshrel.Interpolation{
		Manifest:  filepath.Join(repo, "manifests", "diego.yml"),
		OpsFiles:  []string{filepath.Join(repo, "ops-files", "test", "local-deployment.yml")},
		VarsFiles: []string{filepath.Join(repo, "manifests", "example-vars-files", "vars-diego.yml")},
		VarsStore: vs, VarErrs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := boshrel.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	user, pass := natsAuth(m)
	if user != "nats" || len(pass) < 10 {
		t.Fatalf("natsAuth = %q, %q: want user nats and the generated nats_password", user, pass)
	}
	if vars, _ := os.ReadFile(vs); !strings.Contains(string(vars), "nats_password: "+pass) {
		t.Errorf("the password %q is not the vars store's nats_password", pass)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, err := startNATS(addr, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	if got := natsConnect(t, addr, user, pass); got != "+OK" {
		t.Errorf("CONNECT with the route emitter's credentials: %q, want +OK", got)
	}
	if got := natsConnect(t, addr, user, "wrong"); !strings.HasPrefix(got, "-ERR") {
		t.Errorf("CONNECT with a wrong password: %q, want -ERR", got)
	}
}
