package cluster

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/ssh"

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
	bundle, err := http.Get(tgt.FileServerURL + "/v1/static/" + SSHDBundlePath)
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
