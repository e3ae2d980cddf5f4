package daemon

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/diego-go/diego/src/internal/bbsaddr"
	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/internal/serve"
)

// Duration is a time.Duration read as "30s" or nanoseconds.
type Duration = jsonconfig.Duration

// LockKey is the Locket lock a global route emitter holds (the reference's).
const LockKey = "route_emitter"

// Config is the route emitter's configuration file: the reference's field
// names, plus routes_address and fallback_register_interval (ours).
type Config struct {
	// BBS: an https URL or host:port, mutual TLS.
	BBSAddress           string   `json:"bbs_address"`
	BBSCACertFile        string   `json:"bbs_ca_cert_file"`
	BBSClientCertFile    string   `json:"bbs_client_cert_file"`
	BBSClientKeyFile     string   `json:"bbs_client_key_file"`
	CommunicationTimeout Duration `json:"communication_timeout"`

	// CellID set is local mode: no lock, only that cell's instances.
	CellID string `json:"cell_id"`
	// UUID owns the lock in global mode (default: hostname and process id).
	UUID string `json:"uuid"`
	// RegisterDirectInstanceRoutes routes to container addresses and ports.
	RegisterDirectInstanceRoutes bool `json:"register_direct_instance_routes"`
	// EnableInternalEmitter publishes internal routes on service-discovery.*.
	EnableInternalEmitter bool `json:"enable_internal_emitter"`
	// SyncInterval: how often the table is rebuilt from the BBS.
	SyncInterval Duration `json:"sync_interval"`
	// FallbackRegisterInterval: when no router answers 30 greetings, keep
	// re-registering on this interval (0: exit as the reference does).
	FallbackRegisterInterval Duration `json:"fallback_register_interval"`

	// NATS: comma-separated host:port (or nats:// URLs).
	NATSAddresses      string `json:"nats_addresses"`
	NATSUsername       string `json:"nats_username"`
	NATSPassword       string `json:"nats_password"`
	NATSTLSEnabled     bool   `json:"nats_tls_enabled"`
	NATSCACertFile     string `json:"nats_ca_cert_file"`
	NATSClientCertFile string `json:"nats_client_cert_file"`
	NATSClientKeyFile  string `json:"nats_client_key_file"`

	// Locket (global mode). The files default to the BBS client's.
	LocketAddress        string   `json:"locket_address"`
	LocketCACertFile     string   `json:"locket_ca_cert_file"`
	LocketClientCertFile string   `json:"locket_client_cert_file"`
	LocketClientKeyFile  string   `json:"locket_client_key_file"`
	LockTTL              Duration `json:"lock_ttl"`
	LockRetryInterval    Duration `json:"lock_retry_interval"`

	// HealthCheckAddress answers 200 on every path; DebugAddress serves
	// /debug/pprof; RoutesAddress serves GET /routes (the table as JSON).
	// All plain HTTP: keep them on loopback.
	HealthCheckAddress string `json:"healthcheck_address"`
	DebugAddress       string `json:"debug_address"`
	RoutesAddress      string `json:"routes_address"`
	// ServerLimits bound the clients of those servers (unset fields:
	// serve.DefaultLimits).
	ServerLimits serve.Limits `json:"server_limits"`

	LogLevel string `json:"log_level"`
}

// DefaultConfig returns a configuration with every default filled in.
func DefaultConfig() Config {
	return Config{
		CommunicationTimeout:     Duration(30 * time.Second),
		SyncInterval:             Duration(time.Minute),
		FallbackRegisterInterval: Duration(20 * time.Second),
		LockTTL:                  Duration(15 * time.Second),
		LockRetryInterval:        Duration(5 * time.Second),
		LogLevel:                 "info",
	}
}

// Parse reads JSON over the defaults; unknown fields are errors. Empty
// Locket client files take the BBS client's (as the reference's job).
func Parse(r io.Reader) (Config, error) {
	c := DefaultConfig()
	if err := jsonconfig.Decode(r, &c); err != nil {
		return c, err
	}
	for _, f := range [][2]*string{
		{&c.LocketCACertFile, &c.BBSCACertFile}, {&c.LocketClientCertFile, &c.BBSClientCertFile}, {&c.LocketClientKeyFile, &c.BBSClientKeyFile},
	} {
		if *f[0] == "" {
			*f[0] = *f[1]
		}
	}
	return c, nil
}

// Load reads, defaults and validates the file at path.
func Load(path string) (Config, error) {
	return jsonconfig.LoadFile(path, Parse, Config.Validate)
}

// Level is log_level, for the command's logger.
func (c Config) Level() string { return c.LogLevel }

// LocalMode reports whether cell_id is set.
func (c Config) LocalMode() bool { return c.CellID != "" }

// Validate reports every problem at once, each saying what to fix.
func (c Config) Validate() error {
	var errs []error
	if err := c.ServerLimits.Validate("server_limits"); err != nil {
		errs = append(errs, err)
	}
	if c.BBSAddress == "" {
		errs = append(errs, errors.New("bbs_address is required: the BBS the routes come from"))
	} else if _, err := bbsaddr.URL(c.BBSAddress); err != nil {
		errs = append(errs, err)
	}
	files := [][2]string{{"bbs_ca_cert_file", c.BBSCACertFile}, {"bbs_client_cert_file", c.BBSClientCertFile}, {"bbs_client_key_file", c.BBSClientKeyFile}}
	if !c.LocalMode() {
		if c.LocketAddress == "" {
			errs = append(errs, errors.New("locket_address is required in global mode (no cell_id): only the holder of the route_emitter lock emits"))
		} else if _, err := bbsaddr.HostPorts("locket_address", c.LocketAddress); err != nil {
			errs = append(errs, err)
		}
		files = append(files, [2]string{"locket_ca_cert_file", c.LocketCACertFile},
			[2]string{"locket_client_cert_file", c.LocketClientCertFile}, [2]string{"locket_client_key_file", c.LocketClientKeyFile})
		if c.LockTTL < Duration(time.Second) || time.Duration(c.LockTTL)%time.Second != 0 {
			errs = append(errs, fmt.Errorf("lock_ttl %s must be a whole number of seconds, at least 1s", time.Duration(c.LockTTL)))
		} else if c.LockRetryInterval <= 0 || c.LockRetryInterval >= c.LockTTL*4/5 {
			errs = append(errs, fmt.Errorf("lock_retry_interval %s must be positive and below 4/5 of lock_ttl (%s)",
				time.Duration(c.LockRetryInterval), time.Duration(c.LockTTL)*4/5))
		}
	}
	if _, err := natsServers(c.NATSAddresses); err != nil {
		errs = append(errs, err)
	}
	if c.NATSTLSEnabled {
		files = append(files, [2]string{"nats_ca_cert_file", c.NATSCACertFile},
			[2]string{"nats_client_cert_file", c.NATSClientCertFile}, [2]string{"nats_client_key_file", c.NATSClientKeyFile})
	}
	for _, f := range files {
		if f[1] == "" {
			errs = append(errs, fmt.Errorf("%s is required", f[0]))
		} else if _, err := os.Stat(f[1]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f[0], err))
		}
	}
	for _, a := range [][2]string{{"healthcheck_address", c.HealthCheckAddress}, {"debug_address", c.DebugAddress}, {"routes_address", c.RoutesAddress}} {
		if a[1] == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a[1]); err != nil {
			errs = append(errs, fmt.Errorf("%s %q must be host:port: %w", a[0], a[1], err))
		}
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{{"communication_timeout", c.CommunicationTimeout}, {"sync_interval", c.SyncInterval}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s %s must be positive", d.name, time.Duration(d.v)))
		}
	}
	if c.FallbackRegisterInterval < 0 {
		errs = append(errs, fmt.Errorf("fallback_register_interval %s must be 0 (exit when no router answers) or positive", time.Duration(c.FallbackRegisterInterval)))
	}
	if _, err := jsonconfig.Level(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// natsServers turns nats_addresses into the URLs the NATS client wants.
func natsServers(addrs string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(addrs, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		hostport := a
		if u, err := url.Parse(a); err == nil && strings.Contains(a, "://") {
			if u.Scheme != "nats" && u.Scheme != "tls" {
				return nil, fmt.Errorf("nats_addresses: %q: the scheme must be nats:// or tls://", u.Redacted())
			}
			hostport = u.Host
		} else {
			a = "nats://" + a
		}
		if _, _, err := net.SplitHostPort(hostport); err != nil {
			return nil, fmt.Errorf("nats_addresses: %q must be host:port: %w", hostport, err)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, errors.New("nats_addresses is required: comma-separated host:port of the NATS servers the gorouters listen on")
	}
	return out, nil
}
