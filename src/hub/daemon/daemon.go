package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/hub/api"
	"github.com/diego-go/diego/src/hub/ui"
	"github.com/diego-go/diego/src/internal/bbsaddr"
	"github.com/diego-go/diego/src/internal/serve"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/pki"
)

// Server is a running Hub.
type Server struct {
	// Addr is the bound address; URL the Hub's base URL.
	Addr, URL string
	Hub       *api.Hub

	srv    *http.Server
	group  *serve.Group
	cancel context.CancelFunc
	done   chan struct{}
	closer []io.Closer
}

// Run serves until ctx ends, then stops gracefully.
func Run(ctx context.Context, cfg Config) error {
	s, err := Start(cfg)
	if err != nil {
		return err
	}
	return s.Wait(ctx)
}

// Start connects the clients, binds the listener and serves in the
// background.
func Start(cfg Config) (_ *Server, err error) {
	log := slog.Default()
	s := &Server{group: serve.NewGroup(1), done: make(chan struct{})}
	defer func() {
		if err != nil {
			s.closeAll()
		}
	}()
	opts, err := s.options(cfg, log)
	if err != nil {
		return nil, err
	}
	var tlsConf *tls.Config
	if cfg.TLSEnabled() {
		pair, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file, tls.key_file: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		if cfg.TLS.ClientCAFile != "" {
			pool, err := pki.LoadCAPool(cfg.TLS.ClientCAFile)
			if err != nil {
				return nil, fmt.Errorf("tls.client_ca_file: %w", err)
			}
			tlsConf.ClientCAs, tlsConf.ClientAuth = pool, tls.VerifyClientCertIfGiven
		}
	}
	hub := api.New(opts)
	s.Hub = hub
	l, err := net.Listen("tcp", cfg.ListenAddress)
	if err != nil {
		return nil, fmt.Errorf("listen_address: %w", err)
	}
	s.Addr = l.Addr().String()
	scheme := "http"
	limits := serve.DefaultLimits
	l = limits.Listener(l) // under TLS: the server must see *tls.Conn (r.TLS)
	if tlsConf != nil {
		scheme = "https"
		l = tls.NewListener(l, tlsConf)
	}
	s.URL = scheme + "://" + s.Addr
	handler := serve.Streams(hub.Handler(ui.Files(), ui.Built()), func(r *http.Request) bool { return r.URL.Path == "/api/stream" })
	s.srv = limits.Apply(&http.Server{Handler: handler, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)})
	s.group.Go(func() error { return s.srv.Serve(l) })
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { defer close(s.done); hub.Run(ctx) }()
	log.Info("hub.ready", "url", s.URL, "ui_built", ui.Built(), "login_required", opts.Auth.Required())
	return s, nil
}

// options builds the Hub's clients from cfg.
func (s *Server) options(cfg Config, log *slog.Logger) (api.Options, error) {
	o := api.Options{BBSURL: cfg.BBS.URL, AuctioneerURL: cfg.AuctioneerURL, MetricsURLs: cfg.MetricsURLs,
		CellLocalURLs: cfg.CellLocalURLs, LogDir: cfg.LogDir, PollInterval: max(time.Duration(cfg.PollInterval), MinPollInterval), Log: log}
	client, err := bbsaddr.NewClient(bbs.ClientConfig{
		URL: cfg.BBS.URL, IsTLS: strings.HasPrefix(cfg.BBS.URL, "https://"),
		CAFile: cfg.BBS.CACert, CertFile: cfg.BBS.ClientCert, KeyFile: cfg.BBS.ClientKey,
		RequestTimeout: 30 * time.Second, Retries: 1,
	})
	if err != nil {
		return o, fmt.Errorf("BBS client (bbs): %w", err)
	}
	o.BBS = client
	tlsCfg, err := pki.ClientTLSConfig(cfg.BBS.CACert, cfg.BBS.ClientCert, cfg.BBS.ClientKey)
	if err != nil {
		return o, fmt.Errorf("client TLS (bbs.ca_cert, bbs.client_cert, bbs.client_key): %w", err)
	}
	if cfg.LocketAddress != "" {
		conn, err := locket.Dial(cfg.LocketAddress, tlsCfg)
		if err != nil {
			return o, fmt.Errorf("locket_address: %w", err)
		}
		s.closer = append(s.closer, conn)
		o.Locket = conn
	}
	newClient := func() *http.Client {
		return &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	}
	o.Reps, err = rep.NewClientFactory(newClient(), newClient(), &rep.TLSConfig{CaCertFile: cfg.BBS.CACert,
		CertFile: cfg.BBS.ClientCert, KeyFile: cfg.BBS.ClientKey, RequireTLS: true})
	if err != nil {
		return o, fmt.Errorf("rep clients: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig, tr.Proxy = tlsCfg, nil
	o.HTTP = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	users := map[string][32]byte{}
	for _, u := range cfg.Users {
		for k, v := range api.ParseUsers([]string{u.Name}, []string{u.PasswordSHA256}) {
			users[k] = v
		}
	}
	o.Auth = api.Auth{Users: users, ClientCerts: cfg.TLS.ClientCAFile != ""}
	if cfg.AuditLog != "" {
		f, err := os.OpenFile(cfg.AuditLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return o, fmt.Errorf("audit_log: %w", err)
		}
		s.closer = append(s.closer, f)
		o.Audit = f
	}
	return o, nil
}

func (s *Server) closeAll() {
	for _, c := range s.closer {
		c.Close()
	}
}

// Wait serves until ctx ends or the server fails, then stops.
func (s *Server) Wait(ctx context.Context) error {
	err := serve.Until(ctx, s.group.Errors(), slog.Default(), "hub.failed", func(stop context.Context) error {
		s.cancel()
		s.Hub.Close()
		err := s.srv.Shutdown(stop)
		if errors.Is(err, context.DeadlineExceeded) {
			err = s.srv.Close()
		}
		<-s.done
		s.closeAll()
		return err
	})
	slog.Default().Info("hub.exited")
	return err
}
