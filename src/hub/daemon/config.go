// Package daemon runs Diego Hub (the web UI and its JSON API) from its JSON
// configuration.
package daemon

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/diego-go/diego/src/internal/jsonconfig"
)

// MinPollInterval is the shortest poll_interval Validate accepts: the Hub
// never polls the cells, Locket or metrics faster.
const MinPollInterval = 5 * time.Second

// Config is the Hub's configuration file (docs/hub-api.md).
type Config struct {
	// ListenAddress serves the UI and the API; a non-loopback address
	// requires tls and a login (users or tls.client_ca_file).
	ListenAddress string    `json:"listen_address"`
	TLS           TLSConfig `json:"tls"`
	Users         []User    `json:"users"`
	BBS           BBSConfig `json:"bbs"`
	// LocketAddress is Locket's host:port (the BBS client certificate is
	// used); "" leaves the locks and presences out.
	LocketAddress string `json:"locket_address"`
	// AuctioneerURL is shown in the system view (optional).
	AuctioneerURL string `json:"auctioneer_url"`
	// MetricsURLs are Prometheus endpoints by component name (optional).
	MetricsURLs map[string]string `json:"metrics_urls"`
	// CellLocalURLs are the reps' local APIs by cell id (POST /evacuate),
	// for the drain action; a cell not listed cannot be drained from the Hub.
	CellLocalURLs map[string]string `json:"cell_local_urls"`
	// LogDir holds app logs as LOG_DIR/PROCESS_GUID/INDEX.log (diego up's).
	LogDir       string              `json:"log_dir"`
	PollInterval jsonconfig.Duration `json:"poll_interval"`
	// AuditLog, when set, gets one JSON line per action.
	AuditLog string `json:"audit_log"`
	LogLevel string `json:"log_level"`
}

// TLSConfig is the listener's certificate; with ClientCAFile a client
// certificate signed by it is a login.
type TLSConfig struct {
	CertFile     string `json:"cert_file"`
	KeyFile      string `json:"key_file"`
	ClientCAFile string `json:"client_ca_file"`
}

// User is a basic-auth login: the hex SHA-256 of its password.
type User struct {
	Name           string `json:"name"`
	PasswordSHA256 string `json:"password_sha256"`
}

// BBSConfig is how the Hub reaches the BBS (and, with the same
// certificate, Locket and the reps).
type BBSConfig struct {
	URL        string `json:"url"`
	CACert     string `json:"ca_cert"`
	ClientCert string `json:"client_cert"`
	ClientKey  string `json:"client_key"`
}

// DefaultConfig returns a configuration with every default filled in.
func DefaultConfig() Config {
	return Config{ListenAddress: "127.0.0.1:8898", PollInterval: jsonconfig.Duration(MinPollInterval), LogLevel: "info"}
}

// ParseConfig reads JSON over the defaults; unknown fields are errors.
func ParseConfig(r io.Reader) (Config, error) {
	c := DefaultConfig()
	return c, jsonconfig.Decode(r, &c)
}

// Load reads, defaults and validates the file at path.
func Load(path string) (Config, error) {
	return jsonconfig.LoadFile(path, ParseConfig, Config.Validate)
}

// Level is the configured log level.
func (c Config) Level() string { return c.LogLevel }

// Loopback reports whether the listen address's host is a loopback
// address (or localhost).
func (c Config) Loopback() bool {
	host, _, err := net.SplitHostPort(c.ListenAddress)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// TLSEnabled reports whether the listener serves HTTPS.
func (c Config) TLSEnabled() bool { return c.TLS.CertFile != "" || c.TLS.KeyFile != "" }

// Validate reports every problem at once, each saying what to fix.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.ListenAddress); err != nil {
		errs = append(errs, fmt.Errorf("listen_address %q must be host:port: %w", c.ListenAddress, err))
	} else if !c.Loopback() {
		if !c.TLSEnabled() {
			errs = append(errs, fmt.Errorf("listen_address %q is not a loopback address: set tls.cert_file and tls.key_file (the Hub serves only HTTPS off the local machine), or listen on 127.0.0.1", c.ListenAddress))
		}
		if len(c.Users) == 0 && c.TLS.ClientCAFile == "" {
			errs = append(errs, fmt.Errorf("listen_address %q is not a loopback address: set users (basic-auth logins) or tls.client_ca_file (client-certificate logins)", c.ListenAddress))
		}
	}
	if c.TLSEnabled() {
		errs = append(errs, files(map[string]string{"tls.cert_file": c.TLS.CertFile, "tls.key_file": c.TLS.KeyFile})...)
	}
	if c.TLS.ClientCAFile != "" {
		if !c.TLSEnabled() {
			errs = append(errs, errors.New("tls.client_ca_file needs tls.cert_file and tls.key_file (client certificates are checked over HTTPS)"))
		}
		errs = append(errs, files(map[string]string{"tls.client_ca_file": c.TLS.ClientCAFile})...)
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		if u.Name == "" || strings.ContainsAny(u.Name, ":") {
			errs = append(errs, fmt.Errorf("users[%d].name %q: want a non-empty name without ':'", i, u.Name))
		}
		if seen[u.Name] {
			errs = append(errs, fmt.Errorf("users[%d].name %q is listed twice", i, u.Name))
		}
		seen[u.Name] = true
		if b, err := hex.DecodeString(u.PasswordSHA256); err != nil || len(b) != 32 {
			errs = append(errs, fmt.Errorf("users[%d].password_sha256: want 64 hex digits (printf %%s PASSWORD | sha256sum)", i))
		}
	}
	for _, s := range strings.Split(c.BBS.URL, ",") {
		if u, err := url.Parse(strings.TrimSpace(s)); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("bbs.url %q: want the BBS API's URL, e.g. https://127.0.0.1:8889 (several comma-separated)", c.BBS.URL))
			break
		}
	}
	errs = append(errs, files(map[string]string{"bbs.ca_cert": c.BBS.CACert, "bbs.client_cert": c.BBS.ClientCert, "bbs.client_key": c.BBS.ClientKey})...)
	if c.LocketAddress != "" {
		for _, a := range strings.Split(c.LocketAddress, ",") {
			if _, _, err := net.SplitHostPort(a); err != nil {
				errs = append(errs, fmt.Errorf("locket_address %q must be host:port (several comma-separated): %w", c.LocketAddress, err))
				break
			}
		}
	}
	for _, f := range []struct {
		what string
		m    map[string]string
	}{{"metrics_urls", c.MetricsURLs}, {"cell_local_urls", c.CellLocalURLs}} {
		what, m := f.what, f.m
		for _, k := range slices.Sorted(maps.Keys(m)) {
			v := m[k]
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, fmt.Errorf("%s[%q] %q: want an http:// or https:// URL", what, k, v))
			}
		}
	}
	if c.AuctioneerURL != "" {
		if u, err := url.Parse(c.AuctioneerURL); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("auctioneer_url %q: want a URL", c.AuctioneerURL))
		}
	}
	if c.LogDir != "" {
		if st, err := os.Stat(c.LogDir); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Errorf("log_dir %q: want an existing directory (diego up's apps log directory) or nothing", c.LogDir))
		}
	}
	if time.Duration(c.PollInterval) < MinPollInterval {
		errs = append(errs, fmt.Errorf("poll_interval %s: want %s or more (the Hub never polls faster)", time.Duration(c.PollInterval), MinPollInterval))
	}
	if _, err := jsonconfig.Level(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// files checks that each named file is set and readable, in name order.
func files(m map[string]string) []error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(m)) {
		path := m[name]
		if path == "" {
			errs = append(errs, fmt.Errorf("%s is required: a PEM file", name))
		} else if _, err := os.Stat(path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errs
}
