package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/diego-go/diego/src/fileserver"
	"github.com/diego-go/diego/src/internal/serve"
)

// Server is a running file server.
type Server struct {
	// HTTPAddr and HTTPSAddr are the bound addresses (HTTPSAddr is empty
	// when HTTPS is disabled).
	HTTPAddr, HTTPSAddr string

	servers []*http.Server
	errs    chan error
	limits  serve.Limits
}

// Run serves until ctx ends, then stops gracefully.
func Run(ctx context.Context, cfg Config) error {
	s, err := Start(cfg)
	if err != nil {
		return err
	}
	return s.Wait(ctx)
}

// Start binds the listeners and serves in the background. With HTTPS
// enabled, server_address answers every request with a 301 to the same
// path on https_listen_addr's port.
func Start(cfg Config) (_ *Server, err error) {
	log := slog.Default()
	s := &Server{errs: make(chan error, 2), limits: cfg.ServerLimits.Or(DefaultLimits)}
	files := fileserver.NewHandler(cfg.StaticDirectory)
	httpHandler := http.Handler(files)
	var tlsConf *tls.Config
	if cfg.HTTPSServerEnabled {
		pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("https (cert_file, key_file): %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	var listeners []net.Listener
	defer func() {
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
		}
	}()
	if tlsConf != nil {
		l, err := net.Listen("tcp", cfg.HTTPSListenAddr)
		if err != nil {
			return nil, fmt.Errorf("https_listen_addr: %w", err)
		}
		listeners = append(listeners, l)
		s.HTTPSAddr = l.Addr().String()
		_, httpsPort, _ := net.SplitHostPort(s.HTTPSAddr)
		httpHandler = redirect(httpsPort)
		s.serve(log, l, files, tlsConf)
	}
	l, err := net.Listen("tcp", cfg.ServerAddress)
	if err != nil {
		return nil, fmt.Errorf("server_address: %w", err)
	}
	listeners = append(listeners, l)
	s.HTTPAddr = l.Addr().String()
	s.serve(log, l, httpHandler, nil)
	log.Info("file-server.ready", "http", s.HTTPAddr, "https", s.HTTPSAddr, "static_directory", cfg.StaticDirectory)
	return s, nil
}

func (s *Server) serve(log *slog.Logger, l net.Listener, h http.Handler, tlsConf *tls.Config) {
	srv := s.limits.Apply(&http.Server{Handler: h, TLSConfig: tlsConf, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)})
	l = s.limits.Listener(l)
	s.servers = append(s.servers, srv)
	go func() {
		var err error
		if tlsConf != nil {
			err = srv.ServeTLS(l, "", "")
		} else {
			err = srv.Serve(l)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			s.errs <- err
		}
	}()
}

// Wait serves until ctx ends or a server fails, then shuts every server
// down, letting requests in flight finish for up to 10 seconds.
func (s *Server) Wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-s.errs:
		err = fmt.Errorf("file server: %w", err)
	}
	stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		if e := srv.Shutdown(stop); e != nil && err == nil {
			err = fmt.Errorf("file server shutdown: %w", e)
		}
	}
	slog.Default().Info("file-server.exited")
	return err
}

// redirect sends every request to the same host and path on httpsPort.
func redirect(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		http.Redirect(w, r, "https://"+net.JoinHostPort(host, httpsPort)+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
}
