package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/diego-go/diego/src/sshproxy"
)

// sshStdin is the session's standard input (tests replace it).
var sshStdin io.Reader = os.Stdin

// sshDialTimeout bounds connecting and logging in through the proxy.
const sshDialTimeout = 30 * time.Second

// sshTarget is where `diego ssh` connects and how it logs in.
type sshTarget struct {
	address, fingerprint, password string
	user                           string
	command                        []string
	tty                            bool
}

// sshCommand is `diego ssh PROCESS_GUID[/INDEX] [-- COMMAND...]`: a shell
// (or the command) in an instance, through the SSH proxy named by the
// target file (ssh_proxy_address, whose host key must have the fingerprint
// ssh_proxy_host_fingerprint), logging in to the diego realm with
// ssh_proxy_diego_credentials.
func sshCommand(ctx context.Context, c *call) error {
	var t sshTarget
	c.str(&t.address, "ssh-proxy-address", "", "", "the SSH proxy's host:port (default: the target file's ssh_proxy_address)")
	c.str(&t.fingerprint, "ssh-proxy-host-fingerprint", "", "", "the proxy's host key fingerprint, SHA256:... (default: the target file's)")
	c.str(&t.password, "password", "", "", "the diego realm's password (default: env DIEGO_SSH_PASSWORD, then the target file's ssh_proxy_diego_credentials)")
	c.fs.BoolVar(&t.tty, "t", false, "allocate a terminal for a command too")
	pos, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	guid, index, ok := strings.Cut(pos[0], "/")
	if !ok {
		index = "0"
	}
	if n, err := strconv.Atoi(index); err != nil || n < 0 || guid == "" {
		return c.usageError(fmt.Errorf("ssh: %q is not PROCESS_GUID[/INDEX]", pos[0]))
	}
	t.user = "diego:" + guid + "/" + index
	t.command = c.dash
	if t.password == "" {
		t.password = os.Getenv("DIEGO_SSH_PASSWORD")
	}
	if err := t.fill(c); err != nil {
		return err
	}
	return t.run(ctx, c.stdout, c.stderr)
}

// fill takes what the flags left empty from the target file.
func (t *sshTarget) fill(c *call) error {
	if t.address == "" || t.fingerprint == "" || t.password == "" {
		s, err := c.settings()
		if err != nil {
			return err
		}
		t.address = firstSet(t.address, s.File.SSHProxyAddress)
		t.fingerprint = firstSet(t.fingerprint, s.File.SSHProxyHostFingerprint)
		t.password = firstSet(t.password, s.File.SSHProxyDiegoCredentials)
	}
	var missing []string
	for _, m := range [][2]string{{"ssh_proxy_address (--ssh-proxy-address)", t.address},
		{"ssh_proxy_host_fingerprint (--ssh-proxy-host-fingerprint)", t.fingerprint},
		{"ssh_proxy_diego_credentials (--password)", t.password}} {
		if m[1] == "" {
			missing = append(missing, m[0])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("ssh: no %s: run `diego up` (its target file has them), or set them with --target or the flags", strings.Join(missing, ", "))
	}
	return nil
}

func firstSet(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// run logs in through the proxy and runs the shell or the command; the
// remote exit status becomes the error (*ssh.ExitError, see ExitCode).
func (t *sshTarget) run(ctx context.Context, stdout, stderr io.Writer) error {
	conf := &ssh.ClientConfig{
		User: t.user, Auth: []ssh.AuthMethod{ssh.Password(t.password)}, Timeout: sshDialTimeout,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if !sshproxy.FingerprintMatches(t.fingerprint, key) {
				return fmt.Errorf("the SSH proxy at %s presents host key %s, not %s as the target says: refusing to connect", t.address, sshproxy.HostFingerprint(key), t.fingerprint)
			}
			return nil
		},
		BannerCallback: func(msg string) error { _, err := io.WriteString(stderr, msg); return err },
	}
	client, err := ssh.Dial("tcp", t.address, conf)
	if err != nil {
		return fmt.Errorf("ssh %s via %s: %w", t.user, t.address, err)
	}
	defer client.Close()
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()
	sess, err := client.NewSession()
	if err != nil {
		return fmt.Errorf("opening a session: %w", err)
	}
	defer sess.Close()
	sess.Stdout, sess.Stderr = stdout, stderr
	in, isFile := sshStdin.(*os.File)
	interactive := isFile && term.IsTerminal(int(in.Fd()))
	if interactive && (len(t.command) == 0 || t.tty) {
		restore, err := t.terminal(sess, in)
		if err != nil {
			return err
		}
		defer restore()
	} else {
		stdin, err := sess.StdinPipe()
		if err != nil {
			return err
		}
		go func() { io.Copy(stdin, sshStdin); stdin.Close() }()
	}
	if len(t.command) == 0 {
		err = sess.Shell()
	} else {
		err = sess.Start(strings.Join(t.command, " "))
	}
	if errors.Is(err, io.EOF) {
		// No answer to the shell or exec request: the channel closed
		// first, before any output was read. Nothing says it ran.
		return fmt.Errorf("ssh session: the session closed before the %s was started: %w", t.what(), err)
	}
	if err != nil {
		return fmt.Errorf("ssh session: starting the %s: %w", t.what(), err)
	}
	err = sess.Wait()
	var exit *ssh.ExitError
	if errors.As(err, &exit) {
		return reported{exit} // the command's own output said why
	}
	// io.EOF here is our stdin, still being copied, meeting the closed
	// channel: the exit status was 0 and the output is all read.
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("ssh session: %w", err)
	}
	return nil
}

func (t *sshTarget) what() string {
	if len(t.command) == 0 {
		return "shell"
	}
	return "command"
}

// terminal puts the local terminal in raw mode, asks for a pty of its size
// and passes window size changes on; restore undoes the raw mode.
func (t *sshTarget) terminal(sess *ssh.Session, in *os.File) (restore func(), err error) {
	fd := int(in.Fd())
	w, h, err := term.GetSize(fd)
	if err != nil {
		w, h = 80, 24
	}
	termName := firstSet(os.Getenv("TERM"), "xterm")
	if err := sess.RequestPty(termName, h, w, ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 14400, ssh.TTY_OP_OSPEED: 14400}); err != nil {
		return nil, fmt.Errorf("requesting a terminal: %w", err)
	}
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, fmt.Errorf("raw terminal: %w", err)
	}
	sess.Stdin = in
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	go func() {
		for range winch {
			if w, h, err := term.GetSize(fd); err == nil {
				sess.WindowChange(h, w)
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(winch)
		term.Restore(fd, state)
	}, nil
}
