package daemon

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"time"

	"github.com/diego-go/diego/src/auction"
	"github.com/diego-go/diego/src/auctioneer"
	"github.com/diego-go/diego/src/internal/bbsaddr"
	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/internal/serve"
)

// Duration is a time.Duration read as "30s" or nanoseconds.
type Duration = jsonconfig.Duration

// Config is the auctioneer configuration file.
type Config struct {
	// ListenAddress serves POST /v1/lrps and /v1/tasks (mutual TLS), only
	// while this auctioneer holds the auctioneer lock.
	ListenAddress  string `json:"listen_address"`
	CAFile         string `json:"ca_file"`
	ServerCertFile string `json:"server_cert_file"`
	ServerKeyFile  string `json:"server_key_file"`

	// Locket holds the lock and lists cells (their presences). The client
	// files default to ca_file / server_cert_file / server_key_file.
	LocketAddress        string   `json:"locket_address"`
	LocketCAFile         string   `json:"locket_ca_file"`
	LocketClientCertFile string   `json:"locket_client_cert_file"`
	LocketClientKeyFile  string   `json:"locket_client_key_file"`
	LockOwner            string   `json:"lock_owner"`
	LockTTL              Duration `json:"lock_ttl"`
	LockRetryInterval    Duration `json:"lock_retry_interval"`

	// BBS is told about placement failures (https URL or host:port). The
	// client files default as for Locket.
	BBSAddress        string `json:"bbs_address"`
	BBSCAFile         string `json:"bbs_ca_file"`
	BBSClientCertFile string `json:"bbs_client_cert_file"`
	BBSClientKeyFile  string `json:"bbs_client_key_file"`

	// Reps are called over mutual TLS at their https rep_url. The client
	// files default as for Locket.
	RepCAFile         string `json:"rep_ca_file"`
	RepClientCertFile string `json:"rep_client_cert_file"`
	RepClientKeyFile  string `json:"rep_client_key_file"`

	// CellStateTimeout bounds each cell's GET /state; CommunicationTimeout
	// each POST /work and each BBS call.
	CellStateTimeout     Duration `json:"cell_state_timeout"`
	CommunicationTimeout Duration `json:"communication_timeout"`
	// BatchInterval: how long start requests gather before a round starts.
	BatchInterval Duration `json:"batch_interval"`

	StartingContainerWeight       float64 `json:"starting_container_weight"`
	BinPackFirstFitWeight         float64 `json:"bin_pack_first_fit_weight"`
	StartingContainerCountMaximum int     `json:"starting_container_count_maximum"`

	// MetricsAddress, when set, serves Prometheus metrics at /metrics and
	// DebugAddress Go's /debug/pprof (both plain HTTP; keep them on loopback).
	MetricsAddress string `json:"metrics_address"`
	DebugAddress   string `json:"debug_address"`
	LogLevel       string `json:"log_level"`

	// ServerLimits bound the clients of the API and the metrics and debug
	// servers (unset fields: serve.DefaultLimits).
	ServerLimits serve.Limits `json:"server_limits"`
}

// DefaultConfig returns a configuration with every default filled in.
func DefaultConfig() Config {
	return Config{
		ListenAddress:           auctioneer.DefaultListenAddress,
		LockTTL:                 Duration(15 * time.Second),
		LockRetryInterval:       Duration(5 * time.Second),
		CellStateTimeout:        Duration(10 * time.Second),
		CommunicationTimeout:    Duration(10 * time.Second),
		BatchInterval:           Duration(100 * time.Millisecond),
		StartingContainerWeight: auction.DefaultConfig().StartingContainerWeight,
		LogLevel:                "info",
	}
}

// Parse reads JSON over the defaults; unknown fields are errors. Empty
// client files take the server's.
func Parse(r io.Reader) (Config, error) {
	c := DefaultConfig()
	if err := jsonconfig.Decode(r, &c); err != nil {
		return c, err
	}
	for _, f := range []*string{&c.LocketCAFile, &c.BBSCAFile, &c.RepCAFile} {
		if *f == "" {
			*f = c.CAFile
		}
	}
	for _, f := range []*string{&c.LocketClientCertFile, &c.BBSClientCertFile, &c.RepClientCertFile} {
		if *f == "" {
			*f = c.ServerCertFile
		}
	}
	for _, f := range []*string{&c.LocketClientKeyFile, &c.BBSClientKeyFile, &c.RepClientKeyFile} {
		if *f == "" {
			*f = c.ServerKeyFile
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

// Validate reports every problem at once, each saying what to fix.
func (c Config) Validate() error {
	var errs []error
	if err := c.ServerLimits.Validate("server_limits"); err != nil {
		errs = append(errs, err)
	}
	addrs := [][2]string{{"listen_address", c.ListenAddress}}
	if c.LocketAddress == "" {
		errs = append(errs, errors.New("locket_address is required: the auctioneer serves only while it holds its Locket lock"))
	} else if _, err := bbsaddr.HostPorts("locket_address", c.LocketAddress); err != nil {
		errs = append(errs, err)
	}
	for _, opt := range [][2]string{{"metrics_address", c.MetricsAddress}, {"debug_address", c.DebugAddress}} {
		if opt[1] != "" {
			addrs = append(addrs, opt)
		}
	}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a[1]); err != nil {
			errs = append(errs, fmt.Errorf("%s %q must be host:port: %w", a[0], a[1], err))
		}
	}
	switch {
	case c.BBSAddress == "":
		errs = append(errs, errors.New("bbs_address is required (placement failures are reported to the BBS)"))
	default:
		if _, err := bbsaddr.URL(c.BBSAddress); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range [][2]string{
		{"ca_file", c.CAFile}, {"server_cert_file", c.ServerCertFile}, {"server_key_file", c.ServerKeyFile},
		{"locket_ca_file", c.LocketCAFile}, {"locket_client_cert_file", c.LocketClientCertFile}, {"locket_client_key_file", c.LocketClientKeyFile},
		{"bbs_ca_file", c.BBSCAFile}, {"bbs_client_cert_file", c.BBSClientCertFile}, {"bbs_client_key_file", c.BBSClientKeyFile},
		{"rep_ca_file", c.RepCAFile}, {"rep_client_cert_file", c.RepClientCertFile}, {"rep_client_key_file", c.RepClientKeyFile},
	} {
		if f[1] == "" {
			errs = append(errs, fmt.Errorf("%s is required (mutual TLS is mandatory)", f[0]))
		} else if _, err := os.Stat(f[1]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f[0], err))
		}
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{{"cell_state_timeout", c.CellStateTimeout}, {"communication_timeout", c.CommunicationTimeout}, {"batch_interval", c.BatchInterval}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s %s must be positive", d.name, time.Duration(d.v)))
		}
	}
	if c.LockTTL < Duration(time.Second) || time.Duration(c.LockTTL)%time.Second != 0 {
		errs = append(errs, fmt.Errorf("lock_ttl %s must be a whole number of seconds, at least 1s", time.Duration(c.LockTTL)))
	} else if c.LockRetryInterval <= 0 || c.LockRetryInterval >= c.LockTTL*4/5 {
		errs = append(errs, fmt.Errorf("lock_retry_interval %s must be positive and below 4/5 of lock_ttl (%s)",
			time.Duration(c.LockRetryInterval), time.Duration(c.LockTTL)*4/5))
	}
	for _, w := range []struct {
		name string
		v    float64
	}{{"starting_container_weight", c.StartingContainerWeight}, {"bin_pack_first_fit_weight", c.BinPackFirstFitWeight}} {
		if w.v < 0 || math.IsNaN(w.v) || math.IsInf(w.v, 0) {
			errs = append(errs, fmt.Errorf("%s %v must be a finite number, 0 or more", w.name, w.v))
		}
	}
	if c.StartingContainerCountMaximum < 0 {
		errs = append(errs, fmt.Errorf("starting_container_count_maximum %d must be 0 (no limit) or more", c.StartingContainerCountMaximum))
	}
	if _, err := jsonconfig.Level(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c Config) auctionConfig() auction.Config {
	a := auction.DefaultConfig()
	a.StartingContainerWeight = c.StartingContainerWeight
	a.BinPackFirstFitWeight = c.BinPackFirstFitWeight
	a.StartingContainerCountMaximum = c.StartingContainerCountMaximum
	return a
}
