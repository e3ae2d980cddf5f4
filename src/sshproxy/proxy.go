package sshproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/sshd"
)

// ServerVersion is the identification string the proxy sends.
const ServerVersion = "SSH-2.0-diego-ssh-proxy"

// ErrTooManyConnections refuses a connection over max_connections.
var ErrTooManyConnections = errors.New("too many connections to this SSH proxy")

// Resolve finds a grant's instance (Resolver.Resolve with the BBS).
type Resolve func(Grant) (Target, error)

// Config is what the proxy runs with.
type Config struct {
	HostKey ssh.Signer
	Realms  Realms
	Resolve Resolve
	// Ciphers, MACs and KeyExchanges restrict the algorithms the proxy
	// offers its clients; empty means the reference's defaults.
	Ciphers, MACs, KeyExchanges []string
	// IdleTimeout closes a client connection with no traffic for this long
	// (0: never).
	IdleTimeout time.Duration
	// HandshakeTimeout closes a client connection that has not finished
	// the SSH handshake and authentication this long after connecting (0:
	// never), so that connections that never log in do not hold slots.
	HandshakeTimeout time.Duration
	// CommunicationTimeout bounds authentication (UAA, Cloud Controller)
	// and reaching the instance's daemon.
	CommunicationTimeout time.Duration
	// MaxConnections caps the connections served at once (0: no cap); one
	// over it is refused at authentication with ErrTooManyConnections.
	MaxConnections int
	Logger         *slog.Logger
}

// Proxy accepts SSH connections and splices each to an instance's daemon.
type Proxy struct {
	cfg   Config
	base  ssh.ServerConfig
	log   *slog.Logger
	slots chan struct{}

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
	closed bool
}

// New checks cfg and builds the proxy.
func New(cfg Config) (*Proxy, error) {
	if cfg.HostKey == nil {
		return nil, errors.New("a host key is required (host_key)")
	}
	if len(cfg.Realms) == 0 {
		return nil, errors.New("no realm is enabled: set enable_diego_auth or enable_cf_auth")
	}
	if cfg.Resolve == nil {
		return nil, errors.New("no resolver: the proxy cannot find instances")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CommunicationTimeout <= 0 {
		cfg.CommunicationTimeout = 10 * time.Second
	}
	p := &Proxy{cfg: cfg, log: cfg.Logger, conns: map[net.Conn]struct{}{}}
	p.base = ssh.ServerConfig{ServerVersion: ServerVersion}
	p.base.SetDefaults()
	p.base.Ciphers = or(cfg.Ciphers, sshd.DefaultCiphers)
	p.base.MACs = or(cfg.MACs, sshd.DefaultMACs)
	p.base.KeyExchanges = or(cfg.KeyExchanges, sshd.DefaultKeyExchanges)
	p.base.AddHostKey(cfg.HostKey)
	if cfg.MaxConnections > 0 {
		p.slots = make(chan struct{}, cfg.MaxConnections)
	}
	return p, nil
}

func or(list, def []string) []string {
	if len(list) == 0 {
		return def
	}
	return list
}

// Serve accepts connections on ln until ctx ends, then closes every
// connection and waits for them.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	p.log.Info("ssh-proxy.serving", "address", ln.Addr().String())
	for {
		c, err := ln.Accept()
		if err != nil && sshd.OutOfFiles(err) && ctx.Err() == nil {
			p.log.Warn("ssh-proxy.accept-failed-retrying", "error", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if err != nil {
			p.closeAll()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accepting connections: %w", err)
		}
		if p.cfg.IdleTimeout > 0 {
			c = &sshd.IdleConn{Conn: c, Timeout: p.cfg.IdleTimeout}
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		go func() {
			defer p.untrack(c)
			p.handle(c)
		}()
	}
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	p.wg.Add(1)
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	p.wg.Done()
}

func (p *Proxy) closeAll() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// session is one authenticated connection's other end.
type session struct {
	login   Login
	grant   Grant
	target  Target
	backend ssh.Conn
	chans   <-chan ssh.NewChannel
	reqs    <-chan *ssh.Request
}

// handle authenticates a client, reaching the instance's daemon while it
// does so (a failure is reported to the user as a banner), then splices
// the two connections until either ends.
func (p *Proxy) handle(nc net.Conn) {
	defer nc.Close()
	remote := nc.RemoteAddr().String()
	full := false
	if p.slots != nil {
		select {
		case p.slots <- struct{}{}:
			defer func() { <-p.slots }()
		default:
			full = true
		}
	}
	var sess *session
	conf := p.base
	conf.PasswordCallback = func(meta ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
		if full {
			err := fmt.Errorf("%w (max_connections %d): try again later", ErrTooManyConnections, p.cfg.MaxConnections)
			p.log.Warn("ssh-proxy.connection-refused", "remote", remote, "user", meta.User(), "error", err)
			return nil, banner(err)
		}
		s, err := p.open(meta.User(), password)
		if err != nil {
			p.log.Warn("ssh-proxy.authentication-failed", "remote", remote, "user", meta.User(), "error", err)
			return nil, banner(err)
		}
		if sess != nil {
			sess.backend.Close()
		}
		sess = s
		return &ssh.Permissions{}, nil
	}
	var handshakeTimer *time.Timer
	if p.cfg.HandshakeTimeout > 0 {
		handshakeTimer = time.AfterFunc(p.cfg.HandshakeTimeout, func() {
			p.log.Info("ssh-proxy.handshake-timed-out", "remote", remote, "handshake_timeout", p.cfg.HandshakeTimeout.String())
			nc.Close()
		})
	}
	client, chans, reqs, err := ssh.NewServerConn(nc, &conf)
	if handshakeTimer != nil {
		handshakeTimer.Stop()
	}
	if err != nil {
		if sess != nil {
			sess.backend.Close()
		}
		p.log.Debug("ssh-proxy.handshake-failed", "remote", remote, "error", err)
		return
	}
	started := time.Now()
	audit := p.log.With("remote", remote, "user", client.User(), "principal", sess.grant.Principal,
		"process_guid", sess.grant.ProcessGUID, "index", sess.grant.Index, "instance_guid", sess.target.InstanceGUID)
	audit.Info("ssh-proxy.connection-opened", "realm", sess.login.Realm, "cell_id", sess.target.CellID, "instance_address", sess.target.Address)

	go forwardGlobalRequests(sess.backend, reqs)
	go forwardGlobalRequests(client, sess.reqs)
	go proxyChannels(audit, sess.backend, chans, true)
	go proxyChannels(audit, client, sess.chans, false)
	done := make(chan struct{}, 2)
	go func() { client.Wait(); done <- struct{}{} }()
	go func() { sess.backend.Wait(); done <- struct{}{} }()
	<-done
	client.Close()
	sess.backend.Close()
	<-done
	audit.Info("ssh-proxy.connection-closed", "duration", time.Since(started).Round(time.Millisecond).String())
}

// open authenticates user, finds the instance and connects to its daemon.
func (p *Proxy) open(user string, password []byte) (*session, error) {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.CommunicationTimeout)
	defer cancel()
	login, grant, err := p.cfg.Realms.Authenticate(ctx, user, password)
	if err != nil {
		return nil, err
	}
	target, err := p.cfg.Resolve(grant)
	if err != nil {
		return nil, err
	}
	backend, chans, reqs, err := dialDaemon(ctx, target)
	if err != nil {
		return nil, err
	}
	return &session{login: login, grant: grant, target: target, backend: backend, chans: chans, reqs: reqs}, nil
}

// banner wraps err so that the client shows its message.
func banner(err error) error {
	return &ssh.BannerError{Err: err, Message: "ssh-proxy: " + err.Error() + "\n"}
}

// dialDaemon connects to the instance's daemon with the route's key,
// checking its host key against the route's fingerprint.
func dialDaemon(ctx context.Context, t Target) (ssh.Conn, <-chan ssh.NewChannel, <-chan *ssh.Request, error) {
	conf := &ssh.ClientConfig{User: t.Route.User, HostKeyCallback: ssh.InsecureIgnoreHostKey()}
	if t.Route.PrivateKey != "" {
		key, err := ssh.ParsePrivateKey([]byte(t.Route.PrivateKey))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("the diego-ssh route's private_key: %w", err)
		}
		conf.Auth = append(conf.Auth, ssh.PublicKeys(key))
	}
	if t.Route.User != "" && t.Route.Password != "" {
		conf.Auth = append(conf.Auth, ssh.Password(t.Route.Password))
	}
	if want := t.Route.HostFingerprint; want != "" {
		conf.HostKeyCallback = func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if !FingerprintMatches(want, key) {
				return fmt.Errorf("%w: the instance's daemon presents %s, the route expects %s", ErrHostFingerprint, RouteFingerprint(key), want)
			}
			return nil
		}
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", t.Address)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cannot reach the instance's SSH daemon at %s: %w", t.Address, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	conn, chans, reqs, err := ssh.NewClientConn(nc, t.Address, conf)
	if err != nil {
		nc.Close()
		return nil, nil, nil, fmt.Errorf("logging in to the instance's SSH daemon at %s: %w", t.Address, err)
	}
	nc.SetDeadline(time.Time{})
	return conn, chans, reqs, nil
}
