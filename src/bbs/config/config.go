// Package config loads and validates the BBS's JSON configuration, filling
// defaults so that a minimal file runs a local BBS on SQLite.
package config

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"time"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/reencrypt"
	"github.com/diego-go/diego/src/internal/bbsaddr"
	"github.com/diego-go/diego/src/internal/dbconn"
	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/internal/serve"
)

// Duration is a time.Duration read as "30s" or nanoseconds.
type Duration = jsonconfig.Duration

// Config is the BBS configuration file.
type Config struct {
	// Path is the file the config was loaded from (set by Load, not JSON);
	// the BBS re-reads it for the key ring on SIGHUP or a reload request.
	Path string `json:"-"`

	ListenAddress string `json:"listen_address"`
	HealthAddress string `json:"health_address"`
	// DebugAddress, when set, serves Go's /debug/pprof profiles (plain HTTP; keep it on loopback).
	DebugAddress string `json:"debug_address"`

	CAFile   string `json:"ca_file"`
	CertFile string `json:"server_cert_file"`
	KeyFile  string `json:"server_key_file"`

	DatabaseDriver             string `json:"database_driver"`
	DatabaseConnectionString   string `json:"database_connection_string"`
	MaxOpenDatabaseConnections int    `json:"max_open_database_connections"`
	MaxIdleDatabaseConnections int    `json:"max_idle_database_connections"`
	// Database, when set, gives the database by its parts (the BOSH job's
	// properties); database_driver and database_connection_string are built from it.
	Database *dbconn.Parts `json:"database,omitempty"`

	// CacheDesiredLRPs keeps every desired LRP decrypted in memory so desired
	// LRP and scheduling info reads never touch the database (~0.7 KB each).
	CacheDesiredLRPs bool `json:"cache_desired_lrps"`

	EncryptionKeys map[string]string `json:"encryption_keys"`
	ActiveKeyLabel string            `json:"active_key_label"`
	// EncryptionKeySource says where the key ring comes from: "config"
	// (encryption_keys and active_key_label above) or "vault" (one KV v2
	// secret, re-read at start-up, on every reload and on taking the lock).
	EncryptionKeySource KeySource `json:"encryption_key_source"`

	// ReencryptBatchSize and ReencryptBatchPause pace the online
	// re-encryption a key rotation starts: rows per transaction (0: the
	// store's default, 500 on SQLite and MySQL, 2000 on PostgreSQL) and a
	// pause after each batch (0: none). The start-up re-encryption, before
	// the BBS serves, is never paced.
	ReencryptBatchSize  int      `json:"reencrypt_batch_size"`
	ReencryptBatchPause Duration `json:"reencrypt_batch_pause"`

	// MemoryLimitMB is a soft limit on the process's memory, in MiB, handed
	// to Go's runtime (as GOMEMLIMIT would be): nearing it, the garbage
	// collector runs more often rather than letting the heap grow to twice
	// what is live. 0 (the default) sets none. Size it below the VM's or
	// container's memory; past it the BBS still runs, collecting more.
	MemoryLimitMB int `json:"memory_limit_mb"`

	// AdminCommonNames are the client-certificate common names allowed to call
	// the admin API (key reload, re-encryption).
	AdminCommonNames []string `json:"admin_common_names"`

	MaxRequestBodyBytes int64 `json:"max_request_body_bytes"`
	// ServerLimits bound the clients of the API, health and debug servers
	// (unset fields: serve.DefaultLimits).
	ServerLimits    serve.Limits `json:"server_limits"`
	EventBufferSize int          `json:"event_buffer_size"`
	MaxTaskRetries  int          `json:"max_task_retries"`
	// MaxInstancesPerLRP bounds a desired LRP's instances (DesireLRP and
	// UpdateDesiredLRP refuse more with an InvalidRequest).
	MaxInstancesPerLRP int `json:"max_instances_per_lrp"`

	// Client identity for calls to reps; defaults to the server's files.
	RepCAFile         string   `json:"rep_ca_file"`
	RepClientCertFile string   `json:"rep_client_cert_file"`
	RepClientKeyFile  string   `json:"rep_client_key_file"`
	RepClientTimeout  Duration `json:"rep_client_timeout"`

	// Leader election. With locket_address the BBS holds its lock through that
	// Locket; with locket_listen_address it also serves an embedded Locket
	// there and locks through it in-process; with neither, it serves at once
	// without a lock (a single BBS only).
	LocketAddress        string   `json:"locket_address"`
	LocketCAFile         string   `json:"locket_ca_file"`
	LocketClientCertFile string   `json:"locket_client_cert_file"`
	LocketClientKeyFile  string   `json:"locket_client_key_file"`
	LocketListenAddress  string   `json:"locket_listen_address"`
	LockKey              string   `json:"lock_key"`
	LockOwner            string   `json:"lock_owner"`
	LockTTL              Duration `json:"lock_ttl"`
	LockRetryInterval    Duration `json:"lock_retry_interval"`

	// The auctioneer start requests go to (host:port, mutual TLS). Without it,
	// start requests are logged and left for a later convergence pass.
	AuctioneerAddress        string `json:"auctioneer_address"`
	AuctioneerCAFile         string `json:"auctioneer_ca_file"`
	AuctioneerClientCertFile string `json:"auctioneer_client_cert_file"`
	AuctioneerClientKeyFile  string `json:"auctioneer_client_key_file"`

	// Convergence.
	ConvergenceRepeatInterval Duration `json:"convergence_repeat_interval"`
	CellPresencePollInterval  Duration `json:"cell_presence_poll_interval"`
	ConvergenceWorkers        int      `json:"convergence_workers"`

	// Task completion callbacks: how many run at once, and how long each
	// POST may take (the reference's task_callback_workers and
	// communication_timeout).
	TaskCallbackWorkers int      `json:"task_callback_workers"`
	TaskCallbackTimeout Duration `json:"task_callback_timeout"`

	LogLevel string `json:"log_level"`
}

// DefaultConfig returns a configuration with every default filled in.
func DefaultConfig() Config {
	return Config{
		ListenAddress:              "0.0.0.0:8889",
		HealthAddress:              "127.0.0.1:8890",
		DatabaseDriver:             "sqlite",
		DatabaseConnectionString:   "bbs.db",
		MaxOpenDatabaseConnections: 64,
		MaxIdleDatabaseConnections: 16,
		CacheDesiredLRPs:           true,
		AdminCommonNames:           []string{"diego-admin"},
		MaxRequestBodyBytes:        10 << 20,
		EventBufferSize:            1024,
		MaxTaskRetries:             3,
		MaxInstancesPerLRP:         20000,
		RepClientTimeout:           Duration(10 * time.Second),
		LockKey:                    "bbs",
		LockOwner:                  defaultOwner(),
		LockTTL:                    Duration(15 * time.Second),
		LockRetryInterval:          Duration(5 * time.Second),
		ConvergenceRepeatInterval:  Duration(30 * time.Second),
		CellPresencePollInterval:   Duration(time.Second),
		ConvergenceWorkers:         16,
		TaskCallbackWorkers:        1000,
		TaskCallbackTimeout:        Duration(10 * time.Second),
		LogLevel:                   "info",
		EncryptionKeySource: KeySource{Type: KeySourceConfig, Vault: VaultKeySource{
			Mount: "secret", Path: "diego/bbs/encryption", Timeout: Duration(10 * time.Second),
			AppRole: VaultAppRole{Mount: "approle"},
		}},
	}
}

// Parse reads JSON over the defaults. Unknown fields are errors, so a typo in
// a property name is caught at start-up rather than silently ignored.
func Parse(r io.Reader) (Config, error) {
	c := DefaultConfig()
	if err := jsonconfig.Decode(r, &c); err != nil {
		return c, err
	}
	if err := c.Database.Apply(&c.DatabaseDriver, &c.DatabaseConnectionString); err != nil {
		return c, err
	}
	// client identities default to the server's own files
	for _, id := range [][3]*string{
		{&c.RepCAFile, &c.RepClientCertFile, &c.RepClientKeyFile},
		{&c.AuctioneerCAFile, &c.AuctioneerClientCertFile, &c.AuctioneerClientKeyFile},
		{&c.LocketCAFile, &c.LocketClientCertFile, &c.LocketClientKeyFile},
	} {
		for i, server := range [3]string{c.CAFile, c.CertFile, c.KeyFile} {
			if *id[i] == "" {
				*id[i] = server
			}
		}
	}
	return c, nil
}

// Load reads, defaults and validates the file at path.
func Load(path string) (Config, error) {
	c, err := jsonconfig.LoadFile(path, Parse, Config.Validate)
	c.Path = path
	return c, err
}

// Validate reports every problem at once, each saying what to fix.
func (c Config) Validate() error {
	var errs []error
	addrs := map[string]string{"listen_address": c.ListenAddress, "health_address": c.HealthAddress}
	for name, addr := range map[string]string{"debug_address": c.DebugAddress, "locket_listen_address": c.LocketListenAddress} {
		if addr != "" {
			addrs[name] = addr
		}
	}
	// Clients' addresses may list several servers.
	for name, addr := range map[string]string{"locket_address": c.LocketAddress, "auctioneer_address": c.AuctioneerAddress} {
		if addr != "" {
			if _, err := bbsaddr.HostPorts(name, addr); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for name, addr := range addrs {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q must be host:port: %w", name, addr, err))
		}
	}
	for name, path := range map[string]string{"ca_file": c.CAFile, "server_cert_file": c.CertFile, "server_key_file": c.KeyFile} {
		if path == "" {
			errs = append(errs, fmt.Errorf("%s is required (mutual TLS is mandatory)", name))
		} else if _, err := os.Stat(path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	switch c.DatabaseDriver {
	case "sqlite", "postgres", "mysql":
	default:
		errs = append(errs, fmt.Errorf("database_driver %q is not supported; use sqlite, postgres or mysql", c.DatabaseDriver))
	}
	if c.DatabaseConnectionString == "" {
		errs = append(errs, errors.New("database_connection_string is required"))
	}
	if c.MaxOpenDatabaseConnections < 1 {
		errs = append(errs, errors.New("max_open_database_connections must be at least 1"))
	}
	if err := c.validateKeySource(); err != nil {
		errs = append(errs, err)
	}
	if err := c.ReencryptPacing().Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(c.AdminCommonNames) == 0 {
		errs = append(errs, errors.New("admin_common_names must name at least one client certificate common name"))
	}
	if err := c.ServerLimits.Validate("server_limits"); err != nil {
		errs = append(errs, err)
	}
	if c.MaxRequestBodyBytes < 1024 {
		errs = append(errs, errors.New("max_request_body_bytes must be at least 1024"))
	}
	if c.EventBufferSize < 1 {
		errs = append(errs, errors.New("event_buffer_size must be at least 1"))
	}
	if c.MemoryLimitMB < 0 {
		errs = append(errs, fmt.Errorf("memory_limit_mb %d must not be negative (0: no limit)", c.MemoryLimitMB))
	}
	if c.MaxTaskRetries < 0 {
		errs = append(errs, errors.New("max_task_retries must not be negative (0: a task's first rejection fails it)"))
	}
	if c.MaxInstancesPerLRP < 1 || c.MaxInstancesPerLRP > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("max_instances_per_lrp must be between 1 and %d (default 20000)", math.MaxInt32))
	}
	if c.LocketAddress != "" && c.LocketListenAddress != "" {
		errs = append(errs, errors.New("set locket_address (an external Locket) or locket_listen_address (an embedded one), not both"))
	}
	if c.LockTTL < Duration(time.Second) || c.LockRetryInterval <= 0 || c.LockRetryInterval >= c.LockTTL*4/5 {
		errs = append(errs, fmt.Errorf("lock_retry_interval (%s) must be positive and below 4/5 of lock_ttl (%s, at least 1s): the lease is declared lost at ttl - ttl/5 after the last refresh",
			time.Duration(c.LockRetryInterval), time.Duration(c.LockTTL)))
	}
	if c.LockKey == "" || c.LockOwner == "" {
		errs = append(errs, errors.New("lock_key and lock_owner must not be empty"))
	}
	if c.ConvergenceRepeatInterval < Duration(time.Second) {
		errs = append(errs, errors.New("convergence_repeat_interval must be at least 1s"))
	}
	if c.CellPresencePollInterval < Duration(100*time.Millisecond) {
		errs = append(errs, errors.New("cell_presence_poll_interval must be at least 100ms"))
	}
	if c.ConvergenceWorkers < 1 {
		errs = append(errs, errors.New("convergence_workers must be at least 1"))
	}
	if c.TaskCallbackWorkers < 1 {
		errs = append(errs, errors.New("task_callback_workers must be at least 1"))
	}
	if c.TaskCallbackTimeout <= 0 {
		errs = append(errs, errors.New("task_callback_timeout must be positive, e.g. \"10s\""))
	}
	if _, err := jsonconfig.Level(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c Config) validateKeys() error {
	if len(c.EncryptionKeys) == 0 {
		return errors.New("encryption_keys is required: a map of label to passphrase, e.g. {\"key-2026\": \"<32+ random chars>\"}")
	}
	for label := range c.EncryptionKeys {
		if err := keyring.ValidateLabel(label); err != nil {
			return fmt.Errorf("encryption_keys: %w", err)
		}
	}
	if _, ok := c.EncryptionKeys[c.ActiveKeyLabel]; !ok {
		return fmt.Errorf("active_key_label %q is not a label in encryption_keys", c.ActiveKeyLabel)
	}
	return nil
}

// defaultOwner names this process for the lock: host and a random suffix.
func defaultOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("bbs-%s-%x", host, b)
}

// ReencryptPacing is the pacing of the online re-encryption.
func (c Config) ReencryptPacing() reencrypt.Pacing {
	return reencrypt.Pacing{BatchSize: c.ReencryptBatchSize, BatchPause: time.Duration(c.ReencryptBatchPause)}
}

// Level is the configured log level (for the command runner).
func (c Config) Level() string { return c.LogLevel }
