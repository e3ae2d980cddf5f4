package sshd

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/internal/debugserver"
)

// The environment variables that carry the keys instead of the flags: the
// daemon reads and unsets them so that sessions do not inherit them.
const (
	HostKeyEnv       = "SSHD_HOSTKEY"
	AuthorizedKeyEnv = "SSHD_AUTHKEY"
)

// idleTimeout closes connections silent for this long (the reference's).
const idleTimeout = 5 * time.Minute

type flags struct {
	address, hostKey, authorizedKey         string
	allowUnauthenticated, inheritDaemonEnv  bool
	ciphers, macs, kex, logLevel, debugAddr string
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("diego-sshd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.address, "address", "127.0.0.1:2222", "listen address for ssh daemon")
	fs.StringVar(&f.hostKey, "hostKey", "", "PEM encoded host key (or $"+HostKeyEnv+"); a fresh one when neither is set")
	fs.StringVar(&f.authorizedKey, "authorizedKey", "", "Public key in the OpenSSH authorized_keys format (or $"+AuthorizedKeyEnv+")")
	fs.BoolVar(&f.allowUnauthenticated, "allowUnauthenticatedClients", false, "Allow access to unauthenticated clients")
	fs.BoolVar(&f.inheritDaemonEnv, "inheritDaemonEnv", false, "Inherit daemon's environment")
	fs.StringVar(&f.ciphers, "allowedCiphers", "", "Limit cipher algorithms to those provided (comma separated)")
	fs.StringVar(&f.macs, "allowedMACs", "", "Limit MAC algorithms to those provided (comma separated)")
	fs.StringVar(&f.kex, "allowedKeyExchanges", "", "Limit key exchanges algorithms to those provided (comma separated)")
	fs.StringVar(&f.logLevel, "logLevel", "info", "log level: debug, info, error or fatal")
	fs.StringVar(&f.debugAddr, "debugAddr", "", "host:port at which to serve Go's /debug/pprof (empty: none)")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return f, nil
}

// Command is diego-sshd's command line (the reference's flags). Keys
// given as flags are moved to the environment and the daemon re-executes
// itself without them, so that they do not stay readable in its command
// line; the environment variables are then read and unset.
func Command(ctx context.Context, args []string, _, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	// $VAR in -address is expanded (ours): where a container has no network
	// of its own, -address=0.0.0.0:$PORT with PORT=2222 in the action's
	// environment listens on the host port the cell mapped to 2222.
	f.address = os.ExpandEnv(f.address)
	if os.Getenv(HostKeyEnv) == "" && (f.hostKey != "" || f.authorizedKey != "") {
		return reexec(f)
	}
	hostKeyPEM, authKey := os.Getenv(HostKeyEnv), os.Getenv(AuthorizedKeyEnv)
	os.Unsetenv(HostKeyEnv)
	os.Unsetenv(AuthorizedKeyEnv)
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level(f.logLevel)}))
	cfg := Config{
		AllowUnauthenticatedClients: f.allowUnauthenticated,
		Ciphers:                     SplitList(f.ciphers), MACs: SplitList(f.macs), KeyExchanges: SplitList(f.kex),
		IdleTimeout: idleTimeout, Logger: log, Env: map[string]string{},
	}
	if hostKeyPEM == "" {
		hostKeyPEM, err = NewHostKeyPEM()
		if err != nil {
			return err
		}
	}
	if cfg.HostKey, err = ssh.ParsePrivateKey([]byte(hostKeyPEM)); err != nil {
		return fmt.Errorf("parsing the host key (-hostKey): %w", err)
	}
	if authKey != "" {
		if cfg.AuthorizedKey, _, _, _, err = ssh.ParseAuthorizedKey([]byte(authKey)); err != nil {
			return fmt.Errorf("parsing the authorized key (-authorizedKey): %w", err)
		}
	}
	if f.inheritDaemonEnv {
		for _, kv := range os.Environ() {
			if k, v, ok := strings.Cut(kv, "="); ok {
				cfg.Env[k] = v
			}
		}
	}
	srv, err := New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.address)
	if err != nil {
		return fmt.Errorf("-address: %w", err)
	}
	if f.debugAddr != "" {
		dl, err := net.Listen("tcp", f.debugAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("-debugAddr: %w", err)
		}
		dbg := &http.Server{Handler: debugserver.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go dbg.Serve(dl)
		defer dbg.Close()
	}
	return srv.Serve(ctx, ln)
}

// reexec runs this binary again with the keys in the environment instead
// of the command line.
func reexec(f flags) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the executable to re-execute: %w", err)
	}
	hostKey := f.hostKey
	if hostKey == "" {
		if hostKey, err = NewHostKeyPEM(); err != nil {
			return err
		}
	}
	env := append(os.Environ(), HostKeyEnv+"="+hostKey, AuthorizedKeyEnv+"="+f.authorizedKey)
	args := []string{os.Args[0],
		"-address=" + f.address,
		fmt.Sprintf("-allowUnauthenticatedClients=%t", f.allowUnauthenticated),
		fmt.Sprintf("-inheritDaemonEnv=%t", f.inheritDaemonEnv),
		"-allowedCiphers=" + f.ciphers, "-allowedMACs=" + f.macs, "-allowedKeyExchanges=" + f.kex,
		"-logLevel=" + f.logLevel, "-debugAddr=" + f.debugAddr,
	}
	if err := syscall.Exec(self, args, env); err != nil {
		return fmt.Errorf("re-executing %s: %w", self, err)
	}
	return nil
}

// NewHostKeyPEM generates an Ed25519 host key in OpenSSH PEM form.
func NewHostKeyPEM() (string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generating a host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return "", fmt.Errorf("encoding the host key: %w", err)
	}
	return string(pem.EncodeToMemory(block)), nil
}

// level maps the reference's lager levels to slog's.
func level(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "error":
		return slog.LevelError
	case "fatal":
		return slog.LevelError + 4
	}
	return slog.LevelInfo
}
