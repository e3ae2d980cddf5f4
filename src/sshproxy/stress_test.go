package sshproxy_test

import (
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/sshd/sshtest"
	"github.com/diego-go/diego/src/sshproxy"
	"github.com/diego-go/diego/src/sshproxy/sshproxytest"
)

// TestStressSpliceOutputBeforeExitStatus: many commands that print and
// exit at once, through the proxy to a diego-sshd, from 16 connections
// under GOMAXPROCS 2, 4 and 8: each one's exec is answered and its whole
// stdout and stderr arrive with its exit status. Before the splice kept
// the close behind the exec reply, about one run in 50 lost the reply
// (the client saw io.EOF, no output: `diego ssh` took it for success),
// and every run of this test caught it.
func TestStressSpliceOutputBeforeExitStatus(t *testing.T) {
	keys, err := sshproxy.NewInstanceKeys()
	if err != nil {
		t.Fatal(err)
	}
	daemon := sshproxytest.StartDaemon(t, keys)
	conf, proxy := startProxyTo(t, daemon, sshproxy.Route{HostFingerprint: keys.HostFingerprint, PrivateKey: keys.PrivateKeyPEM})
	failures := sshtest.Stress{Runs: 300, Workers: 16}.Run(t, func() (*ssh.Client, error) { return ssh.Dial("tcp", proxy, conf) })
	for _, f := range failures {
		t.Error(f)
	}
}
