package sshd

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/sshd/sshtest"
)

// daemon is an in-process diego-sshd on a loopback port.
type daemon struct {
	addr    string
	hostKey sshtest.Key
	userKey sshtest.Key
}

func startDaemon(t *testing.T, env map[string]string) *daemon {
	t.Helper()
	d := &daemon{hostKey: sshtest.NewKey(t), userKey: sshtest.NewKey(t)}
	srv, err := New(Config{HostKey: d.hostKey.Signer, AuthorizedKey: d.userKey.Signer.PublicKey(), Env: env, Logger: testutil.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return d
}

func (d *daemon) client(t *testing.T) *sshtest.Client {
	return sshtest.NewClient(t, d.addr, d.hostKey.Signer.PublicKey(), "vcap").WithKey(t, d.userKey)
}

func TestExecOutputExitStatusAndEnv(t *testing.T) {
	d := startDaemon(t, map[string]string{"FROM_DAEMON": "inherited"})
	c := d.client(t)
	r := c.Run(t, "", "ssh", "-o", "SetEnv=GREETING=hello", c.Target(), `echo "$GREETING $FROM_DAEMON"; echo oops >&2; exit 3`)
	if r.Stdout != "hello inherited\n" || !strings.Contains(r.Stderr, "oops") || r.Code != 3 {
		t.Fatalf("got %+v; want stdout %q, stderr oops, code 3", r, "hello inherited\n")
	}
	r = c.Run(t, "line one\nline two\n", "ssh", c.Target(), "wc -l")
	if strings.TrimSpace(r.Stdout) != "2" || r.Code != 0 {
		t.Fatalf("stdin to the command: %+v", r)
	}
	r = c.Run(t, "", "ssh", c.Target(), "kill -TERM $$")
	if r.Code != 255 && r.Code != 143 {
		t.Fatalf("a command killed by a signal: %+v", r)
	}
}

func TestShellWithoutPty(t *testing.T) {
	d := startDaemon(t, nil)
	c := d.client(t)
	r := c.Run(t, "echo from-the-shell\nexit 4\n", "ssh", "-T", c.Target())
	if r.Stdout != "from-the-shell\n" || r.Code != 4 {
		t.Fatalf("shell: %+v", r)
	}
}

func TestRejectsOtherKeys(t *testing.T) {
	d := startDaemon(t, nil)
	c := sshtest.NewClient(t, d.addr, d.hostKey.Signer.PublicKey(), "vcap").WithKey(t, sshtest.NewKey(t))
	r := c.Run(t, "", "ssh", c.Target(), "true")
	if r.Code != 255 || !strings.Contains(r.Stderr, "Permission denied") {
		t.Fatalf("an unknown key: %+v", r)
	}
}

func TestPtyWithOpenSSH(t *testing.T) {
	d := startDaemon(t, nil)
	c := d.client(t)
	r := c.Run(t, "", "ssh", "-tt", "-o", "SetEnv=TERM=vt100", c.Target(), "tty; echo TERM=$TERM")
	if !strings.Contains(r.Stdout, "/dev/pts/") || r.Code != 0 {
		t.Fatalf("ssh -tt: %+v", r)
	}
}

// The window size follows pty-req and window-change, the terminal modes
// pty-req's list (sent by the Go client: OpenSSH sends them only from a real
// terminal).
func TestPtyWindowChange(t *testing.T) {
	d := startDaemon(t, nil)
	client, err := ssh.Dial("tcp", d.addr, &ssh.ClientConfig{User: "vcap", Auth: []ssh.AuthMethod{ssh.PublicKeys(d.userKey.Signer)},
		HostKeyCallback: ssh.FixedHostKey(d.hostKey.Signer.PublicKey())})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var out testutil.SyncBuffer
	sess.Stdout = &out
	stdin, _ := sess.StdinPipe()
	if err := sess.RequestPty("xterm", 24, 80, ssh.TerminalModes{ssh.ECHO: 0, ssh.VINTR: 2}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, "stty size\n")
	testutil.Eventually(t, 30*time.Second, "the initial size", func() (bool, string) { return strings.Contains(out.String(), "24 80"), out.String() })
	if err := sess.WindowChange(50, 132); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the new size", func() (bool, string) {
		io.WriteString(stdin, "stty size\n")
		return strings.Contains(out.String(), "50 132"), out.String()
	})
	io.WriteString(stdin, "stty -a\n")
	testutil.Eventually(t, 30*time.Second, "the requested modes (no echo, ^B interrupts)", func() (bool, string) {
		return strings.Contains(out.String(), " -echo ") && strings.Contains(out.String(), "intr = ^B"), out.String()
	})
	io.WriteString(stdin, "exit 7\n")
	if err := sess.Wait(); err == nil || err.(*ssh.ExitError).ExitStatus() != 7 {
		t.Fatalf("exit from the pty shell: %v", err)
	}
}

func TestSCPLegacyAndSFTPModes(t *testing.T) {
	d := startDaemon(t, nil)
	c := d.client(t)
	local, remote := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(local, "a.txt"), []byte("alpha\n"), 0o640)
	os.MkdirAll(filepath.Join(local, "tree", "sub"), 0o755)
	os.WriteFile(filepath.Join(local, "tree", "sub", "b.txt"), []byte("beta\n"), 0o644)
	for _, mode := range []string{"-O", "-s"} { // legacy scp -t/-f, then the SFTP protocol
		dst := filepath.Join(remote, strings.TrimPrefix(mode, "-"))
		os.MkdirAll(dst, 0o755)
		if r := c.Run(t, "", "scp", mode, "-p", filepath.Join(local, "a.txt"), c.Target()+":"+dst+"/"); r.Code != 0 {
			t.Fatalf("scp %s upload: %+v", mode, r)
		}
		if r := c.Run(t, "", "scp", mode, "-r", filepath.Join(local, "tree"), c.Target()+":"+dst+"/"); r.Code != 0 {
			t.Fatalf("scp %s -r upload: %+v", mode, r)
		}
		checkFile(t, filepath.Join(dst, "a.txt"), "alpha\n", 0o640)
		checkFile(t, filepath.Join(dst, "tree", "sub", "b.txt"), "beta\n", 0o644)
		back := t.TempDir()
		if r := c.Run(t, "", "scp", mode, "-r", c.Target()+":"+dst+"/tree", c.Target()+":"+dst+"/a.txt", back+"/"); r.Code != 0 {
			t.Fatalf("scp %s download: %+v", mode, r)
		}
		checkFile(t, filepath.Join(back, "a.txt"), "alpha\n", 0)
		checkFile(t, filepath.Join(back, "tree", "sub", "b.txt"), "beta\n", 0)
		r := c.Run(t, "", "scp", mode, c.Target()+":"+dst+"/missing", back+"/")
		if r.Code == 0 || !strings.Contains(r.Stderr, "missing") {
			t.Fatalf("scp %s of a missing file: %+v", mode, r)
		}
	}
}

func TestSFTP(t *testing.T) {
	d := startDaemon(t, nil)
	c := d.client(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "up.txt"), []byte("uploaded\n"), 0o644)
	batch := strings.Join([]string{
		"mkdir " + dir + "/made",
		"put " + dir + "/up.txt " + dir + "/made/up.txt",
		"get " + dir + "/made/up.txt " + dir + "/down.txt",
		"ls " + dir + "/made",
	}, "\n") + "\n"
	r := c.Run(t, batch, "sftp", "-b", "-", c.Target())
	if r.Code != 0 || !strings.Contains(r.Stdout, "up.txt") {
		t.Fatalf("sftp: %+v", r)
	}
	checkFile(t, filepath.Join(dir, "down.txt"), "uploaded\n", 0)
}

func checkFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != content {
		t.Fatalf("%s: %q, %v; want %q", path, b, err, content)
	}
	if info, _ := os.Stat(path); mode != 0 && info.Mode().Perm() != mode {
		t.Fatalf("%s: mode %v, want %v", path, info.Mode().Perm(), mode)
	}
}
