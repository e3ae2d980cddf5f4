package cluster

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/cli"
	"github.com/diego-go/diego/src/internal/natsembed/natstest"

	"github.com/diego-go/diego/src/target"
)

// checkEdge checks that the target names a NATS server that takes
// publications and a file server that serves the static directory.
func checkEdge(t *testing.T, tgt target.File) {
	t.Helper()
	nc, err := nats.Connect(tgt.NATSURL)
	if err != nil {
		t.Fatalf("the target's NATS %q: %v", tgt.NATSURL, err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("diego.up.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("diego.up.test", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(10e9); err != nil || string(m.Data) != "hi" {
		t.Fatalf("NATS round trip: %v %v", m, err)
	}
	bundle, err := http.Get(tgt.SSHDBundleURL())
	if err != nil {
		t.Fatal(err)
	}
	bundle.Body.Close()
	if bundle.StatusCode != http.StatusOK || bundle.Header.Get("ETag") == "" {
		t.Fatalf("the diego-sshd bundle: %s %v", bundle.Status, bundle.Header)
	}
	checkSSHProxy(t, tgt)
	resp, err := http.Get(tgt.FileServerURL + "/v1/static/no-such-bundle.tgz")
	if err != nil {
		t.Fatalf("the target's file server %q: %v", tgt.FileServerURL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("file server: a missing bundle answered %s, want 404", resp.Status)
	}
}

// checkSSHProxy dials the target's SSH proxy: it presents the host key
// the target names, and refuses a diego realm login with a wrong password.
func checkSSHProxy(t *testing.T, tgt target.File) {
	t.Helper()
	if tgt.SSHProxyAddress == "" || tgt.SSHProxyDiegoCredentials == "" || !strings.HasPrefix(tgt.SSHProxyHostFingerprint, "SHA256:") {
		t.Fatalf("target's SSH proxy fields: %q %q %q", tgt.SSHProxyAddress, tgt.SSHProxyHostFingerprint, tgt.SSHProxyDiegoCredentials)
	}
	var presented string
	_, err := ssh.Dial("tcp", tgt.SSHProxyAddress, &ssh.ClientConfig{
		User: "diego:no-such-process/0",
		Auth: []ssh.AuthMethod{ssh.Password("wrong")},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			presented = ssh.FingerprintSHA256(key)
			return nil
		},
		Timeout: 30 * time.Second,
	})
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("a wrong password was not refused: %v", err)
	}
	if presented != tgt.SSHProxyHostFingerprint {
		t.Fatalf("the proxy presented %s; target.json says %s", presented, tgt.SSHProxyHostFingerprint)
	}
}

// checkRunSSH runs an app with `diego run --ssh` and reaches its instance
// with `diego ssh`, through the cluster's file server (diego-sshd) and SSH
// proxy, as an operator would.
func checkRunSSH(t *testing.T, dir string) {
	t.Helper()
	t.Setenv("DIEGO_TARGET", target.Path(dir))
	diego := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := cli.Dispatch(context.Background(), cli.Commands(), args, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := diego("run", "sshapp", "--ssh", "--port", "8080", "--domain", "cluster-test", "--timeout", "60s", "--", filepath.Join(binDir, "sample-app")); err != nil {
		t.Fatalf("diego run --ssh: %v\n%s", err, out)
	}
	out, err := diego("ssh", "sshapp/0", "--", "echo in-$CF_INSTANCE_INDEX")
	if err != nil || !strings.Contains(out, "in-0") {
		t.Fatalf("diego ssh sshapp/0: %v\n%s", err, out)
	}
	if out, err := diego("ssh", "sshapp/0", "--", "exit 3"); cli.ExitCode(err) != 3 {
		t.Fatalf("diego ssh: a command exiting 3 gave %v (%d)\n%s", err, cli.ExitCode(err), out)
	}
	if out, err := diego("delete-desired-lrp", "sshapp"); err != nil {
		t.Fatalf("removing sshapp: %v\n%s", err, out)
	}
}

// TestUpExternalNATS: with --nats, diego up embeds no server, names the
// given one in target.json, and its route emitter talks to it (it greets
// the routers there).
func TestUpExternalNATS(t *testing.T) {
	ns := natstest.Start(t, nil)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	greets, err := nc.SubscribeSync("router.greet")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cluster")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := Up(ctx, Options{Dir: dir, Cells: 1, PortBase: 9700, BinDir: binDir, NATSURL: ns.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if got := c.Target().NATSURL; got != ns.ClientURL() {
		t.Fatalf("target nats_url %q, want %q", got, ns.ClientURL())
	}
	if c.edge.nats != nil {
		t.Fatal("an embedded NATS server runs beside --nats")
	}
	if _, err := greets.NextMsg(30 * time.Second); err != nil {
		t.Fatalf("no router.greet from the route emitter on the given NATS: %v", err)
	}
}
