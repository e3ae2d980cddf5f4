package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/lager/v3"
	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/internal/bbsaddr"
	"github.com/diego-go/diego/src/internal/opsserver"
	"github.com/diego-go/diego/src/sshd"
	"github.com/diego-go/diego/src/sshproxy"
	"github.com/diego-go/diego/src/version"
)

// Options are the inputs that are not in the config file.
type Options struct {
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Daemon is a running SSH proxy with its health check and debug servers.
type Daemon struct {
	// Addr is the bound SSH address; HealthAddr the health check's ("" when disabled).
	Addr, HealthAddr string

	log    *slog.Logger
	cancel context.CancelFunc
	errs   chan error
	served chan struct{} // closed when the proxy has stopped serving
	health *http.Server
	ops    *opsserver.Servers
}

// Run serves until ctx ends or a server fails, then stops.
func Run(ctx context.Context, cfg Config) error {
	d, err := Start(ctx, cfg, Options{})
	if err != nil {
		return err
	}
	return d.Wait(ctx)
}

// Start builds the realms and the BBS client, binds the listeners and
// serves in the background.
func Start(ctx context.Context, cfg Config, opts Options) (_ *Daemon, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	hostKey, err := ssh.ParsePrivateKey([]byte(cfg.HostKey))
	if err != nil {
		return nil, fmt.Errorf("host_key: %w", err)
	}
	bbsAddr, err := bbsaddr.URL(cfg.BBSAddress)
	if err != nil {
		return nil, err
	}
	bbsClient, err := bbsaddr.NewClient(bbs.ClientConfig{
		URL: bbsAddr, IsTLS: true, CAFile: cfg.BBSCACert, CertFile: cfg.BBSClientCert, KeyFile: cfg.BBSClientKey,
		ClientSessionCacheSize: cfg.BBSClientSessionCacheSize, MaxIdleConnsPerHost: cfg.BBSMaxIdleConnsPerHost,
		RequestTimeout: time.Duration(cfg.CommunicationTimeout),
	})
	if err != nil {
		return nil, fmt.Errorf("bbs client (bbs_address, bbs_ca_cert, bbs_client_cert, bbs_client_key): %w", err)
	}
	realms, err := cfg.realms()
	if err != nil {
		return nil, err
	}
	proxy, err := sshproxy.New(sshproxy.Config{
		HostKey: hostKey, Realms: realms,
		Resolve: sshproxy.Resolver{BBS: bbsClient, ConnectToInstanceAddress: cfg.ConnectToInstanceAddress, Logger: lager.NewLogger("ssh-proxy")}.Resolve,
		Ciphers: sshd.SplitList(cfg.AllowedCiphers), MACs: sshd.SplitList(cfg.AllowedMACs), KeyExchanges: sshd.SplitList(cfg.AllowedKeyExchanges),
		IdleTimeout: time.Duration(cfg.IdleConnectionTimeout), HandshakeTimeout: time.Duration(cfg.HandshakeTimeout), CommunicationTimeout: time.Duration(cfg.CommunicationTimeout),
		MaxConnections: cfg.MaxConnections, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	d := &Daemon{log: log, cancel: cancel, errs: make(chan error, 3)}
	defer func() {
		if err != nil {
			d.stop()
		}
	}()
	ln, err := net.Listen("tcp", cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("address: %w", err)
	}
	d.Addr = ln.Addr().String()
	if !cfg.DisableHealthCheckServer {
		hl, err := net.Listen("tcp", cfg.HealthCheckAddress)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("health_check_address: %w", err)
		}
		d.HealthAddr = hl.Addr().String()
		d.health = cfg.ServerLimits.Apply(&http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})})
		go func() {
			if err := d.health.Serve(cfg.ServerLimits.Listener(hl)); !errors.Is(err, http.ErrServerClosed) {
				d.errs <- fmt.Errorf("health check server: %w", err)
			}
		}()
	}
	if d.ops, err = opsserver.Start(opsserver.Config{DebugAddress: cfg.DebugAddress, Limits: cfg.ServerLimits, Logger: log}); err != nil {
		ln.Close()
		return nil, err
	}
	d.served = make(chan struct{})
	go func() {
		defer close(d.served)
		if err := proxy.Serve(ctx, ln); err != nil {
			d.errs <- err
		}
	}()
	log.Info("ssh-proxy started", "version", version.Version, "address", d.Addr, "health_check_address", d.HealthAddr,
		"bbs_address", bbsAddr, "enable_diego_auth", cfg.EnableDiegoAuth, "enable_cf_auth", cfg.EnableCFAuth)
	return d, nil
}

// realms builds the enabled authenticators.
func (c Config) realms() (sshproxy.Realms, error) {
	var rs sshproxy.Realms
	if c.EnableDiegoAuth {
		rs = append(rs, sshproxy.DiegoRealm{Credentials: []byte(c.DiegoCredentials)})
	}
	if c.EnableCFAuth {
		client, err := c.cfHTTPClient()
		if err != nil {
			return nil, err
		}
		rs = append(rs, sshproxy.CFRealm{HTTP: client, CCURL: c.CCAPIURL, TokenURL: c.UAATokenURL, Username: c.UAAUsername, Password: c.UAAPassword})
	}
	return rs, nil
}

// cfHTTPClient trusts the system roots plus uaa_ca_cert and cc_api_ca_cert.
func (c Config) cfHTTPClient() (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for _, f := range [][2]string{{"uaa_ca_cert", c.UAACACert}, {"cc_api_ca_cert", c.CCAPICACert}} {
		if f[1] == "" {
			continue
		}
		pem, err := os.ReadFile(f[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f[0], err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s %s holds no PEM certificate", f[0], f[1])
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, InsecureSkipVerify: c.SkipCertVerify, MinVersion: tls.VersionTLS12} // #nosec G402 -- skip_cert_verify is the operator's choice
	return &http.Client{Transport: tr, Timeout: time.Duration(c.CommunicationTimeout)}, nil
}

// Wait serves until ctx ends or a server fails, then stops everything.
func (d *Daemon) Wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-d.errs:
	case err = <-d.ops.Failed():
	}
	d.stop()
	d.log.Info("ssh-proxy exited")
	return err
}

func (d *Daemon) stop() {
	d.cancel()
	if d.served != nil {
		<-d.served
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if d.health != nil {
		d.health.Shutdown(sctx)
	}
	if d.ops != nil {
		d.ops.Shutdown(sctx)
	}
}
