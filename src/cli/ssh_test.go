package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/internal/testutil"

	"github.com/diego-go/diego/src/sshd/sshtest"
	"github.com/diego-go/diego/src/sshproxy"
	"github.com/diego-go/diego/src/sshproxy/sshproxytest"
	"github.com/diego-go/diego/src/target"
)

// `diego ssh GUID/INDEX -- COMMAND` through a real proxy, BBS and
// diego-sshd, with what `diego up` writes in target.json.
func TestSSHRunsACommand(t *testing.T) {
	w := sshproxytest.Start(t, nil)
	w.Desire(t, "pg-cli", 1, w.Keys.Route(sshproxytest.ContainerPort), w.Daemon)
	tf := target.File{SSHProxyAddress: w.Proxy, SSHProxyHostFingerprint: sshproxy.HostFingerprint(w.ProxyKey.Signer.PublicKey()),
		SSHProxyDiegoCredentials: sshproxytest.Password}
	path := filepath.Join(t.TempDir(), "target.json")
	if err := target.Write(path, tf); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) (string, string, error) {
		sshStdin = strings.NewReader(stdin)
		var out, errOut bytes.Buffer
		err := Run(context.Background(), append([]string{"--target", path}, args...), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	out, errOut, err := run("", "ssh", "pg-cli/0", "--", "echo", "hello;", "echo", "oops", ">&2;", "exit", "3")
	if out != "hello\n" || !strings.Contains(errOut, "oops") || ExitCode(err) != 3 {
		t.Fatalf("command: %q %q %v (exit %d)", out, errOut, err, ExitCode(err))
	}
	if strings.Contains(errOut, "error:") {
		t.Errorf("a remote exit status is not a CLI error: %q", errOut)
	}
	if out, _, err := run("x\ny\n", "ssh", "pg-cli", "--", "wc -l"); strings.TrimSpace(out) != "2" || err != nil {
		t.Fatalf("stdin, default index 0: %q %v", out, err)
	}
	if _, errOut, err := run("", "ssh", "pg-cli/0", "--password", "wrong", "--", "true"); err == nil || !strings.Contains(errOut, "Invalid credentials") {
		t.Fatalf("a wrong password: %q %v", errOut, err)
	}
	if _, errOut, err := run("", "ssh", "pg-cli/4", "--", "true"); err == nil || !strings.Contains(errOut, "no matching ActualLRP for ProcessGuid: pg-cli, Index: 4") {
		t.Fatalf("a bad index: %q %v", errOut, err)
	}
	other, err := sshproxy.NewInstanceKeys()
	if err != nil {
		t.Fatal(err)
	}
	_, errOut, err = run("", "ssh", "pg-cli/0", "--ssh-proxy-host-fingerprint", "SHA256:"+other.HostFingerprint, "--", "true")
	if err == nil || !strings.Contains(errOut, "refusing to connect") {
		t.Fatalf("a wrong proxy fingerprint: %q %v", errOut, err)
	}
	if _, errOut, err := run("", "ssh", "pg-cli/x"); ExitCode(err) != 2 || !strings.Contains(errOut, "not PROCESS_GUID[/INDEX]") {
		t.Fatalf("a bad argument: %q %v", errOut, err)
	}
}

func TestSSHNeedsTheProxySettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "target.json")
	if err := target.Write(path, target.File{BBSURL: "https://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err := Run(context.Background(), []string{"--target", path, "ssh", "pg"}, &out, &errOut)
	if err == nil || !strings.Contains(errOut.String(), "no ssh_proxy_address (--ssh-proxy-address), ssh_proxy_host_fingerprint") {
		t.Fatalf("%q %v", errOut.String(), err)
	}
}

// `diego ssh GUID` from a terminal: a remote pty of the local terminal's
// size and TERM, raw local input, and window changes (SIGWINCH) passed on.
func TestSSHInteractiveShell(t *testing.T) {
	w := sshproxytest.Start(t, nil)
	w.Desire(t, "pg-tty", 1, w.Keys.Route(sshproxytest.ContainerPort), w.Daemon)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 33, Cols: 99}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TERM", "vt220")
	sshStdin = tty
	defer func() { sshStdin = os.Stdin }()
	var out testutil.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), []string{"ssh", "pg-tty/0",
			"--ssh-proxy-address", w.Proxy, "--ssh-proxy-host-fingerprint", sshproxy.HostFingerprint(w.ProxyKey.Signer.PublicKey()),
			"--password", sshproxytest.Password}, &out, &out)
	}()
	io.WriteString(ptmx, "echo term=$TERM; stty size\r")
	testutil.Eventually(t, 30*time.Second, "the remote shell on a pty of our size", func() (bool, string) {
		return strings.Contains(out.String(), "term=vt220") && strings.Contains(out.String(), "33 99"), out.String()
	})
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the new size after SIGWINCH", func() (bool, string) {
		syscall.Kill(os.Getpid(), syscall.SIGWINCH)
		io.WriteString(ptmx, "stty size\r")
		return strings.Contains(out.String(), "40 120"), out.String()
	})
	io.WriteString(ptmx, "exit 4\r")
	select {
	case err := <-done:
		if ExitCode(err) != 4 {
			t.Fatalf("exit from the shell: %v (code %d)\n%s", err, ExitCode(err), out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("diego ssh did not return after exit\n%s", out.String())
	}
}

// A session closed before its exec is answered (a proxy that lost the
// reply did this) is an error: nothing says the command ran, and no output
// was read. It used to pass as success with no output.
func TestSSHExecNeverAnswered(t *testing.T) {
	key := sshtest.NewKey(t)
	conf := &ssh.ServerConfig{PasswordCallback: func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) { return nil, nil }}
	conf.AddHostKey(key.Signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		conn, chans, reqs, err := ssh.NewServerConn(nc, conf)
		if err != nil {
			return
		}
		defer conn.Close()
		go ssh.DiscardRequests(reqs)
		for nch := range chans {
			ch, reqs, err := nch.Accept()
			if err != nil {
				return
			}
			go func() {
				for req := range reqs {
					if req.Type == "exec" {
						ch.Write([]byte("lost\n"))
						ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
						ch.Close()
					} else if req.WantReply {
						req.Reply(false, nil)
					}
				}
			}()
		}
	}()
	sshStdin = strings.NewReader("")
	defer func() { sshStdin = os.Stdin }()
	var out, errOut bytes.Buffer
	err = Run(context.Background(), []string{"ssh", "pg/0", "--ssh-proxy-address", ln.Addr().String(),
		"--ssh-proxy-host-fingerprint", sshproxy.HostFingerprint(key.Signer.PublicKey()), "--password", "pw", "--", "echo hi"}, &out, &errOut)
	if err == nil || !strings.Contains(errOut.String(), "closed before the command was started") {
		t.Fatalf("an unanswered exec: %v\nstdout %q\nstderr %q", err, out.String(), errOut.String())
	}
}
