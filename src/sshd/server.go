// Package sshd is the in-container SSH daemon (diego-sshd): public-key
// authentication, shells, commands, ptys, port forwarding, scp and sftp.
package sshd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// ServerVersion is the identification string the daemon sends.
const ServerVersion = "SSH-2.0-diego-sshd"

// The algorithms offered when none are configured (the reference's).
var (
	DefaultCiphers      = []string{"aes128-gcm@openssh.com", "aes256-ctr", "aes192-ctr", "aes128-ctr"}
	DefaultMACs         = []string{"hmac-sha2-256-etm@openssh.com", "hmac-sha2-256"}
	DefaultKeyExchanges = []string{"curve25519-sha256@libssh.org"}
)

// Config is what the daemon serves with.
type Config struct {
	// HostKey identifies the daemon.
	HostKey ssh.Signer
	// AuthorizedKey is the one public key allowed in; nil only with
	// AllowUnauthenticatedClients.
	AuthorizedKey               ssh.PublicKey
	AllowUnauthenticatedClients bool
	// Env is every session's starting environment (the daemon's own with
	// -inheritDaemonEnv), before the client's env requests.
	Env map[string]string
	// Ciphers, MACs and KeyExchanges restrict the algorithms; empty means
	// the defaults above.
	Ciphers, MACs, KeyExchanges []string
	// IdleTimeout closes a connection with no traffic for this long (0: never).
	IdleTimeout time.Duration
	Logger      *slog.Logger
}

// Server is a running SSH daemon.
type Server struct {
	cfg    Config
	ssh    *ssh.ServerConfig
	log    *slog.Logger
	shell  string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
	closed bool
}

// New checks cfg and builds the server.
func New(cfg Config) (*Server, error) {
	if cfg.HostKey == nil {
		return nil, errors.New("a host key is required (-hostKey or SSHD_HOSTKEY)")
	}
	if cfg.AuthorizedKey == nil && !cfg.AllowUnauthenticatedClients {
		return nil, errors.New("Public user key is required: give -authorizedKey (or SSHD_AUTHKEY), or -allowUnauthenticatedClients")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	sc := &ssh.ServerConfig{ServerVersion: ServerVersion, NoClientAuth: cfg.AllowUnauthenticatedClients}
	sc.SetDefaults()
	sc.Ciphers, sc.MACs, sc.KeyExchanges = orDefault(cfg.Ciphers, DefaultCiphers), orDefault(cfg.MACs, DefaultMACs), orDefault(cfg.KeyExchanges, DefaultKeyExchanges)
	sc.AddHostKey(cfg.HostKey)
	if cfg.AuthorizedKey != nil {
		want := string(cfg.AuthorizedKey.Marshal())
		sc.PublicKeyCallback = func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == want {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("authentication failed")
		}
	}
	return &Server{cfg: cfg, ssh: sc, log: cfg.Logger, shell: shellPath(), conns: map[net.Conn]struct{}{}}, nil
}

func orDefault(list, def []string) []string {
	if len(list) == 0 {
		return def
	}
	return list
}

// SplitList splits a comma-separated algorithm list ("" is none).
func SplitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Serve accepts connections on ln until ctx ends, then closes every
// connection and waits for their handlers.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	s.log.Info("sshd.started", "address", ln.Addr().String())
	for {
		c, err := ln.Accept()
		if err != nil && OutOfFiles(err) && ctx.Err() == nil {
			s.log.Warn("sshd.accept-failed-retrying", "error", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if err != nil {
			s.closeAll()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accepting connections: %w", err)
		}
		if s.cfg.IdleTimeout > 0 {
			c = &IdleConn{Conn: c, Timeout: s.cfg.IdleTimeout}
		}
		if !s.track(c) {
			c.Close()
			continue
		}
		go func() {
			defer s.untrack(c)
			s.handle(c)
		}()
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Server) closeAll() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// handle runs one client connection: handshake, then its channels and
// global requests until it closes.
func (s *Server) handle(nc net.Conn) {
	defer nc.Close()
	conn, chans, reqs, err := ssh.NewServerConn(nc, s.ssh)
	if err != nil {
		s.log.Info("sshd.handshake-failed", "remote", nc.RemoteAddr().String(), "error", err)
		return
	}
	log := s.log.With("remote", nc.RemoteAddr().String())
	log.Info("sshd.connection-opened", "user", conn.User())
	fwd := newForwards(conn, log)
	go fwd.serveGlobalRequests(reqs)
	for nch := range chans {
		switch nch.ChannelType() {
		case "session":
			go s.serveSession(log, nch)
		case "direct-tcpip":
			go serveDirectTCPIP(log, nch)
		default:
			nch.Reject(ssh.UnknownChannelType, nch.ChannelType())
		}
	}
	fwd.closeAll()
	log.Info("sshd.connection-closed")
}

// IdleConn closes on Timeout without reads or writes: each call pushes
// the deadline out.
type IdleConn struct {
	net.Conn
	Timeout time.Duration
}

func (c *IdleConn) Read(b []byte) (int, error) {
	if err := c.Conn.SetDeadline(time.Now().Add(c.Timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *IdleConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetDeadline(time.Now().Add(c.Timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// OutOfFiles says whether an Accept error is the process or the system
// running out of file descriptors: worth waiting out, not fatal.
func OutOfFiles(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}
