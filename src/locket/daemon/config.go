package daemon

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/diego-go/diego/src/internal/dbconn"
	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/locket"
)

// Config is the Locket configuration file.
type Config struct {
	// ListenAddress serves the Locket gRPC API (mutual TLS).
	ListenAddress string `json:"listen_address"`

	CAFile         string `json:"ca_file"`
	ServerCertFile string `json:"server_cert_file"`
	ServerKeyFile  string `json:"server_key_file"`

	// DatabaseDriver is sqlite, postgres or mysql (MySQL or MariaDB).
	DatabaseDriver           string `json:"database_driver"`
	DatabaseConnectionString string `json:"database_connection_string"`
	// Pool sizes. 0 open means the store's default (20); 0 idle means as
	// many as open: Locket keeps every connection it opened, so a database
	// near its connection limit (other clients' bulk work) cannot leave
	// lock refreshes without one.
	MaxOpenDatabaseConnections int `json:"max_open_database_connections"`
	MaxIdleDatabaseConnections int `json:"max_idle_database_connections"`
	// Database, when set, gives the database by its parts (the BOSH job's
	// properties); database_driver and database_connection_string are built from it.
	Database *dbconn.Parts `json:"database,omitempty"`

	// HandshakeTimeout closes a connection that has not completed its TLS
	// handshake in time (0: locket.DefaultHandshakeTimeout, 10 s).
	HandshakeTimeout jsonconfig.Duration `json:"handshake_timeout"`
	// MaxConcurrentStreams bounds the calls running at once on one client
	// connection (0: locket.DefaultMaxConcurrentStreams, 100).
	MaxConcurrentStreams uint32 `json:"max_concurrent_streams"`

	// DebugAddress, when set, serves Go's /debug/pprof profiles (plain HTTP; keep it on loopback).
	DebugAddress string `json:"debug_address"`
	// MetricsAddress, when set, serves Prometheus metrics at /metrics (plain HTTP).
	MetricsAddress string `json:"metrics_address"`

	LogLevel string `json:"log_level"`
}

// DefaultConfig returns a configuration with every default filled in.
func DefaultConfig() Config {
	return Config{ListenAddress: "0.0.0.0:8891", LogLevel: "info"}
}

// ParseConfig reads JSON over the defaults. Unknown fields are errors, so a
// typo in a property name is caught at start-up.
func ParseConfig(r io.Reader) (Config, error) {
	c := DefaultConfig()
	if err := jsonconfig.Decode(r, &c); err != nil {
		return c, err
	}
	return c, c.Database.Apply(&c.DatabaseDriver, &c.DatabaseConnectionString)
}

// Load reads, defaults and validates the file at path.
func Load(path string) (Config, error) {
	return jsonconfig.LoadFile(path, ParseConfig, Config.Validate)
}

// Level is the configured log level.
func (c Config) Level() string { return c.LogLevel }

// Validate reports every problem at once, each saying what to fix.
func (c Config) Validate() error {
	var errs []error
	addrs := []struct{ name, addr string }{{"listen_address", c.ListenAddress}}
	if c.DebugAddress != "" {
		addrs = append(addrs, struct{ name, addr string }{"debug_address", c.DebugAddress})
	}
	if c.MetricsAddress != "" {
		addrs = append(addrs, struct{ name, addr string }{"metrics_address", c.MetricsAddress})
	}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q must be host:port: %w", a.name, a.addr, err))
		}
	}
	for _, f := range []struct{ name, path string }{{"ca_file", c.CAFile}, {"server_cert_file", c.ServerCertFile}, {"server_key_file", c.ServerKeyFile}} {
		if f.path == "" {
			errs = append(errs, fmt.Errorf("%s is required (mutual TLS is mandatory)", f.name))
		} else if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
		}
	}
	switch {
	case c.DatabaseDriver == "":
		errs = append(errs, errors.New("database_driver is required: sqlite, postgres or mysql"))
	case c.DatabaseConnectionString == "":
		errs = append(errs, errors.New("database_connection_string is required"))
	default:
		if err := c.storeConfig().Validate(); err != nil {
			errs = append(errs, fmt.Errorf("database_driver / database_connection_string / max_*_database_connections: %w", err))
		}
	}
	if c.HandshakeTimeout < 0 {
		errs = append(errs, fmt.Errorf("handshake_timeout %s is negative; want 0 (the default, 10s) or more", time.Duration(c.HandshakeTimeout)))
	}
	if _, err := jsonconfig.Level(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c Config) serverLimits() locket.ServerLimits {
	return locket.ServerLimits{HandshakeTimeout: time.Duration(c.HandshakeTimeout), MaxConcurrentStreams: c.MaxConcurrentStreams}
}

func (c Config) storeConfig() sqldb.Config {
	cfg := sqldb.Config{
		Driver: c.DatabaseDriver, DSN: c.DatabaseConnectionString,
		MaxOpenConns: c.MaxOpenDatabaseConnections, MaxIdleConns: c.MaxIdleDatabaseConnections,
	}.WithDefaults()
	if c.MaxIdleDatabaseConnections == 0 {
		cfg.MaxIdleConns = cfg.MaxOpenConns
	}
	return cfg
}
