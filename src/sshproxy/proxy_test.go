package sshproxy_test

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/sshd/sshtest"

	"github.com/diego-go/diego/src/sshproxy"
	"github.com/diego-go/diego/src/sshproxy/sshproxytest"
)

// Through the proxy to a RUNNING instance of a desired LRP in a real BBS:
// exec, scp in both protocols, sftp and a local port forward work, and the
// audit log says who opened which instance from where.
func TestOpenSSHThroughTheProxy(t *testing.T) {
	w := sshproxytest.Start(t, nil)
	w.Desire(t, "pg-app", 2, w.Keys.Route(sshproxytest.ContainerPort), w.Daemon)
	c := w.Client(t, "diego:pg-app/0", sshproxytest.Password)

	r := c.Run(t, "", "ssh", c.Target(), "echo hello from $((40+2)); echo to-stderr >&2; exit 5")
	if r.Stdout != "hello from 42\n" || !strings.Contains(r.Stderr, "to-stderr") || r.Code != 5 {
		t.Fatalf("exec through the proxy: %+v", r)
	}
	if r := c.Run(t, "a\nb\nc\n", "ssh", c.Target(), "wc -l"); strings.TrimSpace(r.Stdout) != "3" {
		t.Fatalf("stdin through the proxy: %+v", r)
	}
	if r := c.Run(t, "", "ssh", "-tt", c.Target(), "tty"); !strings.Contains(r.Stdout, "/dev/pts/") || r.Code != 0 {
		t.Fatalf("pty through the proxy: %+v", r)
	}

	local, remote := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(local, "f.txt"), []byte("payload\n"), 0o644)
	for _, mode := range []string{"-O", "-s"} {
		dst := filepath.Join(remote, mode[1:]+".txt")
		if r := c.Run(t, "", "scp", mode, filepath.Join(local, "f.txt"), c.Target()+":"+dst); r.Code != 0 {
			t.Fatalf("scp %s up: %+v", mode, r)
		}
		back := filepath.Join(local, "back"+mode)
		if r := c.Run(t, "", "scp", mode, c.Target()+":"+dst, back); r.Code != 0 {
			t.Fatalf("scp %s down: %+v", mode, r)
		}
		if b, _ := os.ReadFile(back); string(b) != "payload\n" {
			t.Fatalf("scp %s round trip: %q", mode, b)
		}
	}
	r = c.Run(t, "put "+filepath.Join(local, "f.txt")+" "+remote+"/sftp.txt\nls "+remote+"\n", "sftp", "-b", "-", c.Target())
	if r.Code != 0 || !strings.Contains(r.Stdout, "sftp.txt") {
		t.Fatalf("sftp through the proxy: %+v", r)
	}

	echo := sshtest.EchoServer(t)
	fwd := testutil.FreeAddr(t)
	c.Forward(t, fwd, echo)
	sshtest.CheckEcho(t, fwd)

	log := w.Audit.String()
	for _, want := range []string{`"msg":"ssh-proxy.connection-opened"`, `"process_guid":"pg-app"`, `"user":"diego:pg-app/0"`,
		`"remote":"127.0.0.1:`, `"instance_guid":"ig-pg-app"`, `"command":"echo hello from $((40+2))`, `"type":"direct-tcpip"`, `"msg":"ssh-proxy.connection-closed"`} {
		if !strings.Contains(log, want) {
			t.Errorf("the audit log lacks %s:\n%s", want, log)
		}
	}
}

// Every refusal tells the user why.
func TestRefusalsSayWhy(t *testing.T) {
	w := sshproxytest.Start(t, nil)
	w.Desire(t, "pg-app", 2, w.Keys.Route(sshproxytest.ContainerPort), w.Daemon)
	w.Desire(t, "pg-noroute", 1, nil, w.Daemon)
	other, err := sshproxy.NewInstanceKeys()
	if err != nil {
		t.Fatal(err)
	}
	wrongHost := w.Keys
	wrongHost.HostFingerprint = other.HostFingerprint
	w.Desire(t, "pg-wronghost", 1, wrongHost.Route(sshproxytest.ContainerPort), w.Daemon)
	wrongKey := w.Keys
	wrongKey.PrivateKeyPEM = other.PrivateKeyPEM
	w.Desire(t, "pg-wrongkey", 1, wrongKey.Route(sshproxytest.ContainerPort), w.Daemon)

	for _, tc := range []struct{ user, pass, want string }{
		{"diego:pg-app/0", "wrong", "Invalid credentials"},
		{"diego:pg-unknown/0", sshproxytest.Password, "no matching ActualLRP for ProcessGuid: pg-unknown, Index: 0 (no desired LRP"},
		{"diego:pg-app/7", sshproxytest.Password, "the LRP has 2 instances"},
		{"diego:pg-app/1", sshproxytest.Password, "instance 1 of pg-app is UNCLAIMED, not RUNNING"},
		{"diego:pg-app/x", sshproxytest.Password, "Invalid user format"},
		{"root", sshproxytest.Password, "Invalid authentication domain"},
		{"cf:1234/0", sshproxytest.Password, `realm "cf" is not enabled`},
		{"diego:pg-noroute/0", sshproxytest.Password, "SSH routing info not found"},
		{"diego:pg-wronghost/0", sshproxytest.Password, "Host fingerprint mismatch"},
		{"diego:pg-wrongkey/0", sshproxytest.Password, "logging in to the instance's SSH daemon"},
	} {
		c := w.Client(t, tc.user, tc.pass)
		r := c.Run(t, "", "ssh", c.Target(), "echo should-not-run")
		if r.Code != 255 || !strings.Contains(r.Stderr, tc.want) || strings.Contains(r.Stdout, "should-not-run") {
			t.Errorf("%s with %q: %+v; want exit 255 and %q", tc.user, tc.pass, r, tc.want)
		}
	}
	if !strings.Contains(w.Audit.String(), `"msg":"ssh-proxy.authentication-failed"`) {
		t.Errorf("refusals are not in the audit log:\n%s", w.Audit.String())
	}
}

func goClient(t *testing.T, w *sshproxytest.World, user string) (*ssh.Client, error) {
	return ssh.Dial("tcp", w.Proxy, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password(sshproxytest.Password)},
		HostKeyCallback: ssh.FixedHostKey(w.ProxyKey.Signer.PublicKey())})
}

func TestMaxConnections(t *testing.T) {
	w := sshproxytest.Start(t, func(c *sshproxy.Config) { c.MaxConnections = 1 })
	w.Desire(t, "pg-app", 1, w.Keys.Route(sshproxytest.ContainerPort), w.Daemon)
	held, err := goClient(t, w, "diego:pg-app/0")
	if err != nil {
		t.Fatal(err)
	}
	c := w.Client(t, "diego:pg-app/0", sshproxytest.Password)
	r := c.Run(t, "", "ssh", c.Target(), "true")
	if r.Code != 255 || !strings.Contains(r.Stderr, "too many connections to this SSH proxy (max_connections 1)") {
		t.Fatalf("a connection over the limit: %+v", r)
	}
	held.Close()
	testutil.Eventually(t, 30*time.Second, "a slot after the held connection closes", func() (bool, string) {
		r := c.Run(t, "", "ssh", c.Target(), "echo ok")
		return r.Stdout == "ok\n", r.Stderr
	})
}

func TestIdleConnectionsAreClosed(t *testing.T) {
	w := sshproxytest.Start(t, func(c *sshproxy.Config) { c.IdleTimeout = 200 * time.Millisecond })
	w.Desire(t, "pg-app", 1, w.Keys.Route(sshproxytest.ContainerPort), w.Daemon)
	client, err := goClient(t, w, "diego:pg-app/0")
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { client.Wait(); close(closed) }()
	testutil.WaitFor(t, 30*time.Second, "the idle connection closed", func() bool {
		select {
		case <-closed:
			return true
		default:
			return false
		}
	})
	if !strings.Contains(w.Audit.String(), `"msg":"ssh-proxy.connection-closed"`) {
		t.Fatalf("no connection-closed line:\n%s", w.Audit.String())
	}
}

// ssh -R through the proxy: the tcpip-forward global request reaches the
// daemon, and its forwarded-tcpip channels come back to the client.
func TestRemoteForwardThroughTheProxy(t *testing.T) {
	w := sshproxytest.Start(t, nil)
	w.Desire(t, "pg-app", 1, w.Keys.Route(sshproxytest.ContainerPort), w.Daemon)
	client, err := goClient(t, w, "diego:pg-app/0")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ln, err := client.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "from the client\n")
			c.Close()
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String()) // the daemon's side
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if b, _ := io.ReadAll(conn); string(b) != "from the client\n" {
		t.Fatalf("through the remote forward: %q", b)
	}
}
