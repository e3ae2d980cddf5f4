package sshproxy

import (
	"testing"

	"golang.org/x/crypto/ssh"
)

// BenchmarkSessionSetup: one SSH session through the proxy to an
// instance's daemon: connect, authenticate (the BBS lookup and the
// daemon's handshake happen here), open a session and run `true`.
func BenchmarkSessionSetup(b *testing.B) {
	w := startWorld(b, nil)
	w.desire(b, "pg-bench", 1, w.keys.Route(containerPort), w.daemon)
	conf := &ssh.ClientConfig{User: "diego:pg-bench/0", Auth: []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.FixedHostKey(w.proxyKey.Signer.PublicKey())}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		client, err := ssh.Dial("tcp", w.proxy, conf)
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
	w := startWorld(b, nil)
	w.desire(b, "pg-bench", 1, w.keys.Route(containerPort), w.daemon)
	c := w.client(b, "diego:pg-bench/0", password)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := c.Run(b, "", "ssh", c.Target(), "true"); r.Code != 0 {
			b.Fatalf("%+v", r)
		}
	}
}
