// Package sshtest drives the real OpenSSH client (ssh, scp, sftp) against
// our SSH servers in tests, and makes the keys they need.
package sshtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Timeout bounds one client command.
const Timeout = 60 * time.Second

// Key is a generated Ed25519 key pair.
type Key struct {
	Signer ssh.Signer
	// PEM is the private key in OpenSSH PEM form; AuthorizedKey the public
	// key as an authorized_keys line.
	PEM, AuthorizedKey string
}

// NewKey generates a key pair.
func NewKey(tb testing.TB) Key {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return Key{Signer: signer, PEM: string(pem.EncodeToMemory(block)),
		AuthorizedKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))}
}

// Client runs OpenSSH commands against one server, checking its host key.
type Client struct {
	Dir  string
	Host string
	Port string
	// User logs in; Identity (a key file) or Password authenticates.
	User     string
	Identity string
	Password string
}

// NewClient is a client of the server at addr whose host key is hostKey.
func NewClient(tb testing.TB, addr string, hostKey ssh.PublicKey, user string) *Client {
	tb.Helper()
	for _, bin := range []string{"ssh", "scp", "sftp"} {
		if _, err := exec.LookPath(bin); err != nil {
			tb.Fatalf("the OpenSSH client's %s is needed: apt-get install openssh-client (ci/dev/ensure-services.sh does)", bin)
		}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	line := "[" + host + "]:" + port + " " + string(ssh.MarshalAuthorizedKey(hostKey))
	write(tb, filepath.Join(dir, "known_hosts"), line, 0o600)
	write(tb, filepath.Join(dir, "askpass"), "#!/bin/sh\nprintf '%s\\n' \"$SSHTEST_PASSWORD\"\n", 0o700)
	return &Client{Dir: dir, Host: host, Port: port, User: user}
}

// WithKey makes the client authenticate with key.
func (c *Client) WithKey(tb testing.TB, key Key) *Client {
	tb.Helper()
	c.Identity = filepath.Join(c.Dir, "id")
	write(tb, c.Identity, key.PEM, 0o600)
	return c
}

func write(tb testing.TB, path, content string, mode os.FileMode) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		tb.Fatal(err)
	}
}

// Options are the -o options every command gets (LogLevel INFO shows
// the server's banners, where the proxy explains a refusal).
func (c *Client) Options() []string {
	o := []string{"-F", "/dev/null",
		"-o", "UserKnownHostsFile=" + filepath.Join(c.Dir, "known_hosts"), "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=INFO", "-o", "ConnectTimeout=30",
		"-o", "User=" + c.User}
	if c.Identity != "" {
		o = append(o, "-o", "IdentityFile="+c.Identity, "-o", "IdentitiesOnly=yes",
			"-o", "PreferredAuthentications=publickey", "-o", "BatchMode=yes")
	} else {
		o = append(o, "-o", "PreferredAuthentications=password,keyboard-interactive",
			"-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1",
			"-o", "BatchMode=no") // before sftp -b's BatchMode=yes, which would refuse SSH_ASKPASS
	}
	return o
}

// Command is bin (ssh, scp, sftp) with the options and args, its password
// given through SSH_ASKPASS.
func (c *Client) Command(ctx context.Context, bin string, args ...string) *exec.Cmd {
	portFlag := "-p"
	if bin != "ssh" {
		portFlag = "-P"
	}
	all := append(append(c.Options(), portFlag, c.Port), args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.Env = append(os.Environ(), "SSH_ASKPASS="+filepath.Join(c.Dir, "askpass"), "SSH_ASKPASS_REQUIRE=force",
		"DISPLAY=:0", "SSHTEST_PASSWORD="+c.Password)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Result is a finished command's output and exit code.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs bin with args and stdin, returning its output and exit code;
// only a failure to run it at all is an error.
func (c *Client) Run(tb testing.TB, stdin string, bin string, args ...string) Result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd := c.Command(ctx, bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		tb.Fatalf("running %s %v: %v\n%s", bin, args, err, errOut.String())
	}
	return Result{Stdout: out.String(), Stderr: errOut.String(), Code: cmd.ProcessState.ExitCode()}
}

// Target is user@host for scp and sftp arguments (user set by -o User).
func (c *Client) Target() string { return c.Host }

// Forward runs `ssh -N -L localAddr:target` until the test ends and
// returns once localAddr accepts connections.
func (c *Client) Forward(tb testing.TB, localAddr, target string) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := c.Command(ctx, "ssh", "-N", "-o", "ExitOnForwardFailure=yes", "-L", localAddr+":"+target, c.Target())
	var errOut syncBuffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	tb.Cleanup(func() { cancel(); <-exited })
	deadline := time.Now().Add(Timeout)
	for {
		select {
		case <-exited:
			tb.Fatalf("ssh -L %s:%s exited: %s", localAddr, target, errOut.String())
		default:
		}
		if conn, err := net.DialTimeout("tcp", localAddr, time.Second); err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("ssh -L %s:%s: not listening after %s: %s", localAddr, target, Timeout, errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// EchoServer serves, on a loopback port until the test ends, a TCP
// service that answers each line with "echo: " and the line.
func EchoServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				buf := make([]byte, 4096)
				for {
					n, err := conn.Read(buf)
					if n > 0 {
						conn.Write(append([]byte("echo: "), buf[:n]...))
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// CheckEcho sends a line through addr to an EchoServer and checks the answer.
func CheckEcho(tb testing.TB, addr string) {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(Timeout))
	if _, err := conn.Write([]byte("ping\n")); err != nil {
		tb.Fatal(err)
	}
	want := "echo: ping\n"
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != want {
		tb.Fatalf("through %s: %q, %v; want %q", addr, buf, err, want)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
