package sshproxy_test

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/sshd/sshtest"
	"github.com/diego-go/diego/src/sshproxy"
	"github.com/diego-go/diego/src/sshproxy/sshproxytest"
)

// TestStressSpliceOutputBeforeExitStatus: many commands that print and
// exit at once, through the proxy to a diego-sshd, from several
// connections under GOMAXPROCS 2, 4 and 8: each one's exec is answered
// and its whole stdout and stderr arrive before its exit status and the
// channel's close (a lost exec reply or a close forwarded ahead of the
// data showed as an empty, successful `diego ssh`).
func TestStressSpliceOutputBeforeExitStatus(t *testing.T) {
	keys, err := sshproxy.NewInstanceKeys()
	if err != nil {
		t.Fatal(err)
	}
	daemon := sshproxytest.StartDaemon(t, keys)
	hostKey := sshtest.NewKey(t)
	p, err := sshproxy.New(sshproxy.Config{
		HostKey: hostKey.Signer,
		Realms:  sshproxy.Realms{sshproxy.DiegoRealm{Credentials: []byte("pw")}},
		Resolve: func(sshproxy.Grant) (sshproxy.Target, error) {
			return sshproxy.Target{Address: daemon, Route: sshproxy.Route{HostFingerprint: keys.HostFingerprint, PrivateKey: keys.PrivateKeyPEM}}, nil
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	conf := &ssh.ClientConfig{User: "diego:pg-stress/0", Auth: []ssh.AuthMethod{ssh.Password("pw")},
		HostKeyCallback: ssh.FixedHostKey(hostKey.Signer.PublicKey())}
	failures := sshtest.Stress{Runs: 300, Workers: 16}.Run(t, func() (*ssh.Client, error) { return ssh.Dial("tcp", ln.Addr().String(), conf) })
	for _, f := range failures {
		t.Error(f)
	}
	_ = testutil.Logger
}
