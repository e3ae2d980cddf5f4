// Package daemon runs the SSH proxy from its JSON configuration (the
// reference's field names).
package daemon

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/internal/bbsaddr"
	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/internal/serve"
	"github.com/diego-go/diego/src/sshd"
	"github.com/diego-go/diego/src/sshproxy"
)

// Duration is a time.Duration read as "30s" or nanoseconds.
type Duration = jsonconfig.Duration

// Config is the ssh-proxy configuration file.
type Config struct {
	// Address is where SSH clients connect.
	Address string `json:"address"`
	// HealthCheckAddress answers GET / with 200 (for load balancers)
	// unless DisableHealthCheckServer.
	HealthCheckAddress       string `json:"health_check_address"`
	DisableHealthCheckServer bool   `json:"disable_health_check_server"`
	// HostKey is the proxy's PEM-encoded private host key (the key itself,
	// not a file).
	HostKey string `json:"host_key"`

	// The BBS (mutual TLS) holds the desired and actual LRPs.
	BBSAddress                string `json:"bbs_address"`
	BBSCACert                 string `json:"bbs_ca_cert"`
	BBSClientCert             string `json:"bbs_client_cert"`
	BBSClientKey              string `json:"bbs_client_key"`
	BBSClientSessionCacheSize int    `json:"bbs_client_session_cache_size"`
	BBSMaxIdleConnsPerHost    int    `json:"bbs_max_idle_conns_per_host"`

	// The diego realm: user diego:PROCESS_GUID/INDEX, password DiegoCredentials.
	EnableDiegoAuth  bool   `json:"enable_diego_auth"`
	DiegoCredentials string `json:"diego_credentials"`

	// The cf realm: user cf:APP_GUID/INDEX, password a UAA authorization code.
	EnableCFAuth   bool   `json:"enable_cf_auth"`
	CCAPIURL       string `json:"cc_api_url"`
	CCAPICACert    string `json:"cc_api_ca_cert"`
	UAATokenURL    string `json:"uaa_token_url"`
	UAAUsername    string `json:"uaa_username"`
	UAAPassword    string `json:"uaa_password"`
	UAACACert      string `json:"uaa_ca_cert"`
	SkipCertVerify bool   `json:"skip_cert_verify"`

	// Comma-separated algorithm lists offered to clients ("" : defaults).
	AllowedCiphers      string `json:"allowed_ciphers"`
	AllowedMACs         string `json:"allowed_macs"`
	AllowedKeyExchanges string `json:"allowed_key_exchanges"`

	// CommunicationTimeout bounds each BBS, UAA and Cloud Controller call
	// and reaching an instance's daemon.
	CommunicationTimeout Duration `json:"communication_timeout"`
	// IdleConnectionTimeout closes a client connection silent this long (0: never).
	IdleConnectionTimeout Duration `json:"idle_connection_timeout"`
	// HandshakeTimeout closes a client connection that has not finished
	// the SSH handshake and logged in this long after connecting (0: never).
	HandshakeTimeout Duration `json:"handshake_timeout"`
	// ConnectToInstanceAddress dials the container's address and port
	// instead of the cell's, when an instance states no preference.
	ConnectToInstanceAddress bool `json:"connect_to_instance_address"`
	// MaxConnections caps the connections served at once (0: no cap);
	// clients over it are refused with a message (ours; the reference has none).
	MaxConnections int `json:"max_connections"`

	// DebugAddress serves Go's /debug/pprof (plain HTTP; keep it on loopback).
	DebugAddress string `json:"debug_address"`
	LogLevel     string `json:"log_level"`

	// ServerLimits bound the clients of the health check and debug HTTP
	// servers (unset fields: serve.DefaultLimits).
	ServerLimits serve.Limits `json:"server_limits"`
}

// DefaultConfig returns a configuration with every default filled in.
func DefaultConfig() Config {
	return Config{
		Address:               "0.0.0.0:2222",
		HealthCheckAddress:    "0.0.0.0:2223",
		CommunicationTimeout:  Duration(10 * time.Second),
		IdleConnectionTimeout: Duration(5 * time.Minute),
		HandshakeTimeout:      Duration(time.Minute),
		MaxConnections:        1000,
		LogLevel:              "info",
	}
}

// Parse reads JSON over the defaults; unknown fields are errors.
func Parse(r io.Reader) (Config, error) {
	c := DefaultConfig()
	return c, jsonconfig.Decode(r, &c)
}

// Load reads, defaults and validates the file at path.
func Load(path string) (Config, error) {
	return jsonconfig.LoadFile(path, Parse, Config.Validate)
}

// Level is log_level, for the command's logger.
func (c Config) Level() string { return c.LogLevel }

// HostFingerprint is the host key's fingerprint as OpenSSH prints it
// ("SHA256:..."), the value of target.json's ssh_proxy_host_fingerprint.
func (c Config) HostFingerprint() (string, error) {
	key, err := ssh.ParsePrivateKey([]byte(c.HostKey))
	if err != nil {
		return "", fmt.Errorf("host_key: %w", err)
	}
	return sshproxy.HostFingerprint(key.PublicKey()), nil
}

// Validate reports every problem at once, each saying what to fix.
func (c Config) Validate() error {
	var errs []error
	addrs := [][2]string{{"address", c.Address}}
	if !c.DisableHealthCheckServer {
		addrs = append(addrs, [2]string{"health_check_address", c.HealthCheckAddress})
	}
	if c.DebugAddress != "" {
		addrs = append(addrs, [2]string{"debug_address", c.DebugAddress})
	}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a[1]); err != nil {
			errs = append(errs, fmt.Errorf("%s %q must be host:port: %w", a[0], a[1], err))
		}
	}
	if c.HostKey == "" {
		errs = append(errs, errors.New("host_key is required: the proxy's PEM-encoded private host key"))
	} else if _, err := ssh.ParsePrivateKey([]byte(c.HostKey)); err != nil {
		errs = append(errs, fmt.Errorf("host_key is not a PEM private key: %w", err))
	}
	if c.BBSAddress == "" {
		errs = append(errs, errors.New("bbs_address is required: the proxy finds instances in the BBS"))
	} else if _, err := bbsaddr.URL(c.BBSAddress); err != nil {
		errs = append(errs, err)
	}
	for _, f := range [][2]string{{"bbs_ca_cert", c.BBSCACert}, {"bbs_client_cert", c.BBSClientCert}, {"bbs_client_key", c.BBSClientKey}} {
		errs = append(errs, requireFile(f[0], f[1], "the BBS requires mutual TLS"))
	}
	if !c.EnableDiegoAuth && !c.EnableCFAuth {
		errs = append(errs, errors.New("no realm is enabled: set enable_diego_auth and/or enable_cf_auth"))
	}
	if c.EnableDiegoAuth && c.DiegoCredentials == "" {
		errs = append(errs, errors.New("diego_credentials is required when enable_diego_auth is true (the diego realm's password)"))
	}
	if c.EnableCFAuth {
		for _, u := range [][2]string{{"cc_api_url", c.CCAPIURL}, {"uaa_token_url", c.UAATokenURL}} {
			if pu, err := url.Parse(u[1]); u[1] == "" || err != nil || pu.Host == "" {
				errs = append(errs, fmt.Errorf("%s %q must be an http(s) URL when enable_cf_auth is true", u[0], u[1]))
			}
		}
		for _, s := range [][2]string{{"uaa_username", c.UAAUsername}, {"uaa_password", c.UAAPassword}} {
			if s[1] == "" {
				errs = append(errs, fmt.Errorf("%s is required when enable_cf_auth is true (the proxy's UAA client)", s[0]))
			}
		}
		for _, f := range [][2]string{{"cc_api_ca_cert", c.CCAPICACert}, {"uaa_ca_cert", c.UAACACert}} {
			if f[1] != "" {
				errs = append(errs, requireFile(f[0], f[1], ""))
			}
		}
	}
	supported := ssh.SupportedAlgorithms()
	for _, l := range []struct {
		name, value string
		known       []string
	}{{"allowed_ciphers", c.AllowedCiphers, supported.Ciphers}, {"allowed_macs", c.AllowedMACs, supported.MACs}, {"allowed_key_exchanges", c.AllowedKeyExchanges, supported.KeyExchanges}} {
		for _, a := range sshd.SplitList(l.value) {
			if !slices.Contains(l.known, a) {
				errs = append(errs, fmt.Errorf("%s: %q is not supported (choose from %s)", l.name, a, strings.Join(l.known, ",")))
			}
		}
	}
	if c.CommunicationTimeout <= 0 {
		errs = append(errs, fmt.Errorf("communication_timeout %s must be positive", time.Duration(c.CommunicationTimeout)))
	}
	if c.IdleConnectionTimeout < 0 {
		errs = append(errs, fmt.Errorf("idle_connection_timeout %s must be 0 (never) or positive", time.Duration(c.IdleConnectionTimeout)))
	}
	if c.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("max_connections %d must be 0 (no cap) or more", c.MaxConnections))
	}
	if c.HandshakeTimeout < 0 {
		errs = append(errs, fmt.Errorf("handshake_timeout %s must be 0 (never) or positive", time.Duration(c.HandshakeTimeout)))
	}
	if err := c.ServerLimits.Validate("server_limits"); err != nil {
		errs = append(errs, err)
	}
	if _, err := jsonconfig.Level(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func requireFile(name, path, why string) error {
	if path == "" {
		if why != "" {
			why = " (" + why + ")"
		}
		return fmt.Errorf("%s is required%s", name, why)
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
