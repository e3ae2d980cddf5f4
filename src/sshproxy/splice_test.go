package sshproxy_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/sshd/sshtest"
	"github.com/diego-go/diego/src/sshproxy"
)

// startProxyTo serves a proxy whose every diego login (password "pw")
// reaches the daemon at daemon with route, and returns a client
// configuration and the proxy's address.
func startProxyTo(t *testing.T, daemon string, route sshproxy.Route) (*ssh.ClientConfig, string) {
	t.Helper()
	hostKey := sshtest.NewKey(t)
	p, err := sshproxy.New(sshproxy.Config{
		HostKey: hostKey.Signer,
		Realms:  sshproxy.Realms{sshproxy.DiegoRealm{Credentials: []byte("pw")}},
		Resolve: func(sshproxy.Grant) (sshproxy.Target, error) {
			return sshproxy.Target{Address: daemon, Route: route}, nil
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
	return &ssh.ClientConfig{User: "diego:pg-splice/0", Auth: []ssh.AuthMethod{ssh.Password("pw")},
		HostKeyCallback: ssh.FixedHostKey(hostKey.Signer.PublicKey())}, ln.Addr().String()
}

// bulkDaemon is an SSH server whose every exec answers with size bytes
// of output, then exit-status 0 and the close, at once (no EOF, as the
// reference's daemon), and whose host key is not checked.
func bulkDaemon(t *testing.T, size int) string {
	t.Helper()
	conf := &ssh.ServerConfig{NoClientAuth: true}
	conf.AddHostKey(sshtest.NewKey(t).Signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_, chans, reqs, err := ssh.NewServerConn(nc, conf)
				if err != nil {
					return
				}
				go ssh.DiscardRequests(reqs)
				for nch := range chans {
					ch, reqs, err := nch.Accept()
					if err != nil {
						continue
					}
					go func() {
						for req := range reqs {
							req.Reply(req.Type == "exec", nil)
							if req.Type == "exec" {
								go func() {
									ch.Write(bytes.Repeat([]byte("x"), size))
									ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
									ch.Close()
								}()
							}
						}
					}()
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestSpliceExitStatusFollowsTheData: a client that closes the channel as
// soon as the exit status arrives has every byte the daemon sent before
// it: the proxy forwards exit-status only once the data is through. The
// output is four channel windows, so that an exit status forwarded at
// once usually (about one session in two) arrives with much of it still
// in the proxy; ten sessions.
func TestSpliceExitStatusFollowsTheData(t *testing.T) {
	const size = 8 << 20
	conf, proxy := startProxyTo(t, bulkDaemon(t, size), sshproxy.Route{})
	client, err := ssh.Dial("tcp", proxy, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for i := 0; i < 10; i++ {
		ch, reqs, err := client.OpenChannel("session", nil)
		if err != nil {
			t.Fatal(err)
		}
		read := make(chan int64, 1)
		go func() { n, _ := io.Copy(io.Discard, ch); read <- n }()
		if ok, err := ch.SendRequest("exec", true, ssh.Marshal(struct{ Command string }{"bulk"})); !ok || err != nil {
			t.Fatalf("session %d: exec: %v %v", i, ok, err)
		}
		status := false
		for req := range reqs {
			if req.Type == "exit-status" {
				status = true
				ch.Close()
			}
		}
		if n := <-read; !status || n != size {
			t.Fatalf("session %d: exit status seen: %v; read %d bytes before it, want %d", i, status, n, size)
		}
	}
}
