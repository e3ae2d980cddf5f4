package sshproxy_test

import (
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/sshproxy/sshproxytest"
)

// BenchmarkSessionSetup: one SSH session through the proxy to an
// instance's daemon: connect, authenticate (the BBS lookup and the
// daemon's handshake happen here), open a session and run `true`.
func BenchmarkSessionSetup(b *testing.B) {
	w := sshproxytest.Start(b, nil)
	w.Desire(b, "pg-bench", 1, w.Keys.Route(sshproxytest.ContainerPort), w.Daemon)
	conf := &ssh.ClientConfig{User: "diego:pg-bench/0", Auth: []ssh.AuthMethod{ssh.Password(sshproxytest.Password)},
		HostKeyCallback: ssh.FixedHostKey(w.ProxyKey.Signer.PublicKey())}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		client, err := ssh.Dial("tcp", w.Proxy, conf)
		if err != nil {
			b.Fatal(err)
		}
		sess, err := client.NewSession()
		if err != nil {
			b.Fatal(err)
		}
		if err := sess.Run("true"); err != nil {
			b.Fatal(err)
		}
		client.Close()
	}
}

// BenchmarkOpenSSHSessionSetup: the same with the OpenSSH client as a
// process (`ssh diego:GUID/0@proxy true`), its own start-up included.
func BenchmarkOpenSSHSessionSetup(b *testing.B) {
	w := sshproxytest.Start(b, nil)
	w.Desire(b, "pg-bench", 1, w.Keys.Route(sshproxytest.ContainerPort), w.Daemon)
	c := w.Client(b, "diego:pg-bench/0", sshproxytest.Password)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := c.Run(b, "", "ssh", c.Target(), "true"); r.Code != 0 {
			b.Fatalf("%+v", r)
		}
	}
}
