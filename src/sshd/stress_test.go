package sshd

import (
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/sshd/sshtest"
)

// TestStressExecOutputBeforeExitStatus: many commands that print and exit at
// once, from several connections under GOMAXPROCS 2, 4 and 8: each one's
// whole stdout and stderr arrive, with its exit status.
func TestStressExecOutputBeforeExitStatus(t *testing.T) {
	d := startDaemon(t, nil)
	conf := &ssh.ClientConfig{User: "vcap", Auth: []ssh.AuthMethod{ssh.PublicKeys(d.userKey.Signer)},
		HostKeyCallback: ssh.FixedHostKey(d.hostKey.Signer.PublicKey())}
	failures := sshtest.Stress{Runs: 300, Workers: 16}.Run(t, func() (*ssh.Client, error) { return ssh.Dial("tcp", d.addr, conf) })
	for _, f := range failures {
		t.Error(f)
	}
}
