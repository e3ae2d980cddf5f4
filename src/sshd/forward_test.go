package sshd

import (
	"debug/elf"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/sshd/sshtest"
)

func TestLocalPortForward(t *testing.T) {
	d := startDaemon(t, nil)
	c := d.client(t)
	echo := sshtest.EchoServer(t)
	local := testutil.FreeAddr(t)
	c.Forward(t, local, echo)
	sshtest.CheckEcho(t, local)
	sshtest.CheckEcho(t, local) // a second connection over the same session
}

// ssh -R: the daemon listens and opens forwarded-tcpip channels back.
func TestRemotePortForward(t *testing.T) {
	d := startDaemon(t, nil)
	client, err := ssh.Dial("tcp", d.addr, &ssh.ClientConfig{User: "vcap", Auth: []ssh.AuthMethod{ssh.PublicKeys(d.userKey.Signer)},
		HostKeyCallback: ssh.FixedHostKey(d.hostKey.Signer.PublicKey())})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ln, err := client.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.WriteString(c, "from the client side\n"); c.Close() }()
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(conn)
	if string(b) != "from the client side\n" {
		t.Fatalf("through the remote forward: %q", b)
	}
	ln.Close()
}

var binDir string

func TestMain(m *testing.M) {
	testutil.MainWithBinaries(m, &binDir, testutil.Build{Pkgs: []string{"github.com/diego-go/diego/src/cmd/diego-sshd"}, Env: []string{"CGO_ENABLED=0"}})
}

// The command: a static binary; keys given as flags leave its command line
// (it re-executes itself) and the sessions' environment; $VARs in -address
// are expanded.
func TestCommandIsStaticAndHidesItsKeys(t *testing.T) {
	bin := filepath.Join(binDir, "diego-sshd")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("diego-sshd is dynamically linked (build it with CGO_ENABLED=0)")
		}
	}
	f.Close()
	host, user := sshtest.NewKey(t), sshtest.NewKey(t)
	addr := testutil.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "-address=127.0.0.1:${SSHD_TEST_PORT}", "-hostKey="+host.PEM, "-authorizedKey="+user.AuthorizedKey, "-inheritDaemonEnv", "-logLevel=debug")
	cmd.Env = append(os.Environ(), "APP_VAR=from-the-app", "SSHD_TEST_PORT="+port)
	var logs testutil.SyncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	testutil.Eventually(t, 30*time.Second, "diego-sshd listening", func() (bool, string) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil, logs.String()
	})
	c := sshtest.NewClient(t, addr, host.Signer.PublicKey(), "vcap").WithKey(t, user)
	r := c.Run(t, "", "ssh", c.Target(), `echo "$APP_VAR/${SSHD_HOSTKEY:-none}/${SSHD_AUTHKEY:-none}"`)
	if r.Stdout != "from-the-app/none/none\n" || r.Code != 0 {
		t.Fatalf("session: %+v\n%s", r, logs.String())
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cmdline), "PRIVATE KEY") || strings.Contains(string(cmdline), "ssh-ed25519") {
		t.Fatalf("the keys are still in the command line: %q", cmdline)
	}
}

func TestCommandRefusesBadFlags(t *testing.T) {
	bin := filepath.Join(binDir, "diego-sshd")
	out, err := exec.Command(bin, "-address=127.0.0.1:0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Public user key is required") {
		t.Fatalf("no authorized key: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "-address=127.0.0.1:0", "-hostKey=junk", "-authorizedKey=junk").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "host key") {
		t.Fatalf("a bad host key: %v\n%s", err, out)
	}
}

func TestOutOfFiles(t *testing.T) {
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	if !OutOfFiles(emfile) || OutOfFiles(net.ErrClosed) {
		t.Fatal("OutOfFiles should match EMFILE only")
	}
}
