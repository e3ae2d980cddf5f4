package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/internal/serve"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rep/health"
	"github.com/diego-go/diego/src/rep/identity"
)

// Duration is a time.Duration read as "10s" or nanoseconds.
type Duration = jsonconfig.Duration

// Defaults.
const (
	DefaultPresenceTTL    = 15 * time.Second
	DefaultExpireInterval = 10 * time.Second
	DefaultMaxContainers  = 250
	// DefaultSyncInterval is the reference's bulk sync period.
	DefaultSyncInterval = 30 * time.Second
	// DefaultEvacuationTimeout bounds a drain (the reference's 10 minutes).
	DefaultEvacuationTimeout = 10 * time.Minute
	// DefaultEvacuationPollingInterval is how often an evacuating cell asks
	// the BBS whether its instances' replacements are running.
	DefaultEvacuationPollingInterval = 10 * time.Second
	// DefaultMaxCacheSizeInBytes bounds the download cache (the reference
	// BOSH job's diego.executor.max_cache_size_in_bytes default).
	DefaultMaxCacheSizeInBytes = 10_000_000_000
	// DefaultMaxConcurrentTransfers bounds the downloads, and the uploads,
	// a cell runs at once (the reference executor's 5).
	DefaultMaxConcurrentTransfers = 5
)

// Settings are the rep cell's own settings: the config file's top-level
// fields without the container backend (see Config).
type Settings struct {
	CellID string `json:"cell_id"`
	Zone   string `json:"zone"`

	// ListenAddress serves the rep API over mutual TLS (CAFile, CertFile, KeyFile).
	ListenAddress string `json:"listen_address"`
	// LocalAddress serves ping and evacuate over plain HTTP (bind it to localhost).
	LocalAddress string `json:"local_address"`
	// MetricsAddress, when set, serves GET /metrics (Prometheus, plain
	// HTTP): the cell's capacity, its containers by kind and phase, whether
	// it evacuates, and the Go runtime. Empty: no metrics listener.
	MetricsAddress string `json:"metrics_address,omitempty"`
	// ServerLimits bound the clients of the rep API, local and metrics
	// servers (unset fields: serve.DefaultLimits).
	ServerLimits serve.Limits `json:"server_limits"`
	CAFile       string       `json:"ca_file"`
	CertFile     string       `json:"cert_file"`
	KeyFile      string       `json:"key_file"`
	// AdvertiseHost replaces the listener's host in the rep URL given to
	// Locket (default: the listener's host).
	AdvertiseHost string `json:"advertise_host"`

	BBSAddress        string `json:"bbs_address"` // https://host:port
	BBSCAFile         string `json:"bbs_ca_file"`
	BBSClientCertFile string `json:"bbs_client_cert_file"`
	BBSClientKeyFile  string `json:"bbs_client_key_file"`
	// BBSMaxIdleConnsPerHost keeps this many connections to the BBS open
	// between requests (0: DefaultBBSMaxIdleConnsPerHost); a cell starting
	// hundreds of instances at once otherwise opens, and the BBS handshakes,
	// a new TLS connection for most of its claims and starts.
	BBSMaxIdleConnsPerHost int `json:"bbs_max_idle_conns_per_host,omitempty"`
	// BBSClientSessionCacheSize caches TLS sessions to the BBS (0: none).
	BBSClientSessionCacheSize int `json:"bbs_client_session_cache_size,omitempty"`

	LocketAddress        string `json:"locket_address"` // host:port
	LocketCAFile         string `json:"locket_ca_file"`
	LocketClientCertFile string `json:"locket_client_cert_file"`
	LocketClientKeyFile  string `json:"locket_client_key_file"`

	// ContainerRootDir is where the process backend keeps containers.
	ContainerRootDir string `json:"container_root_dir"`
	// ContainerLogDir, if set, keeps each container's stdout and stderr in
	// DIR/<process_guid>/<index>.log (LRP instances) and
	// DIR/tasks/<task_guid>.log (tasks), appended across restarts.
	ContainerLogDir string `json:"container_log_dir"`
	// HostIP is the address the containers' mapped ports answer on.
	HostIP string `json:"host_ip"`

	// Capacity; 0 = the machine's memory and disk, 250 containers.
	MemoryMB      int64 `json:"memory_mb"`
	DiskMB        int64 `json:"disk_mb"`
	MaxContainers int   `json:"max_containers"`

	// RootFSProviders are "preloaded:NAME" or a scheme such as "docker".
	RootFSProviders       []string `json:"rootfs_providers"`
	PlacementTags         []string `json:"placement_tags"`
	OptionalPlacementTags []string `json:"optional_placement_tags"`

	PresenceTTL    Duration `json:"presence_ttl"`
	ExpireInterval Duration `json:"expire_interval"`
	// SyncInterval is the period of the bulk sync with the BBS (default 30s).
	SyncInterval Duration `json:"sync_interval"`
	// EvacuationTimeout bounds an evacuation; instances still here then are
	// stopped (default 10m).
	EvacuationTimeout Duration `json:"evacuation_timeout"`
	// EvacuationPollingInterval is how often an evacuating cell re-asks the
	// BBS about its instances (default 10s).
	EvacuationPollingInterval Duration `json:"evacuation_polling_interval"`

	// The download cache (the reference executor's cache_path and
	// max_cache_size_in_bytes): cached dependencies, image layers and
	// download actions that name a cache key are kept here for every LRP
	// instance and task on the cell, least recently used evicted first.
	// CachePath defaults to container_root_dir/download-cache;
	// MaxCacheSizeInBytes to DefaultMaxCacheSizeInBytes.
	CachePath           string `json:"cache_path,omitempty"`
	MaxCacheSizeInBytes int64  `json:"max_cache_size_in_bytes,omitempty"`
	// MaxConcurrentDownloads and MaxConcurrentUploads bound the transfers
	// the cell runs at once (default 5 each, the reference's).
	MaxConcurrentDownloads int `json:"max_concurrent_downloads,omitempty"`
	MaxConcurrentUploads   int `json:"max_concurrent_uploads,omitempty"`
	// Health monitoring (issue 15; the reference executor's
	// healthy_monitoring_interval and unhealthy_monitoring_interval).
	// HealthyMonitoringInterval is how often a healthy instance's monitor
	// action, and its checks that name no interval, run (default 30s).
	// UnhealthyMonitoringInterval is the longest pause between start-up
	// checks (default 500ms, the reference's; they start 5 ms apart and
	// double).
	HealthyMonitoringInterval   Duration `json:"healthy_monitoring_interval,omitempty"`
	UnhealthyMonitoringInterval Duration `json:"unhealthy_monitoring_interval,omitempty"`

	// What every container gets from the cell (the executor's config names;
	// see runner_env.go). InstanceIdentityCredDir, when set, turns on
	// instance identity: each container's key and certificate, signed by
	// the CA of InstanceIdentityCAPath / InstanceIdentityPrivateKeyPath
	// and valid for InstanceIdentityValidityPeriod (default 24h), are kept
	// in DIR/<guid> and mounted at /etc/cf-instance-credentials.
	InstanceIdentityCredDir        string   `json:"instance_identity_cred_dir,omitempty"`
	InstanceIdentityCAPath         string   `json:"instance_identity_ca_path,omitempty"`
	InstanceIdentityPrivateKeyPath string   `json:"instance_identity_private_key_path,omitempty"`
	InstanceIdentityValidityPeriod Duration `json:"instance_identity_validity_period,omitempty"`
	// Loggregator, with an agent_address, sends app logs there (runner_loggregator.go).
	Loggregator LoggregatorSettings `json:"loggregator,omitzero"`
	// TrustedSystemCertificatesPath is a host directory of CA certificates
	// mounted (read-only) where a desired LRP or task asks for them with
	// trusted_system_certificates_path; empty mounts nothing.
	TrustedSystemCertificatesPath string `json:"trusted_system_certificates_path,omitempty"`
	// MaxLogLinesPerSecond limits every container's log lines (0 = no
	// limit); log_rate_limit on desired LRPs and tasks limits bytes.
	MaxLogLinesPerSecond int `json:"max_log_lines_per_second,omitempty"`
}

// Joining returns the settings of cell cellID in zone joining the Diego
// whose BBS serves at bbsURL and Locket at locketAddr, with the certificates
// of b throughout: the rep serves its API with b's server pair and presents
// b's client pair to the BBS and Locket, all chained to b's CA. The other
// fields are left to the caller and WithDefaults.
func Joining(cellID, zone, bbsURL, locketAddr string, b *pki.Bundle) Settings {
	return Settings{
		CellID: cellID, Zone: zone,
		CAFile: b.CACert, CertFile: b.ServerCert, KeyFile: b.ServerKey,
		BBSAddress: bbsURL, BBSCAFile: b.CACert, BBSClientCertFile: b.ClientCert, BBSClientKeyFile: b.ClientKey,
		LocketAddress: locketAddr, LocketCAFile: b.CACert, LocketClientCertFile: b.ClientCert, LocketClientKeyFile: b.ClientKey,
	}
}

// WithDefaults fills zero fields.
func (c Settings) WithDefaults() Settings {
	if c.ListenAddress == "" {
		c.ListenAddress = "0.0.0.0:1800"
	}
	if c.LocalAddress == "" {
		c.LocalAddress = "127.0.0.1:1801"
	}
	if c.HostIP == "" {
		c.HostIP = "127.0.0.1"
	}
	if c.MaxContainers == 0 {
		c.MaxContainers = DefaultMaxContainers
	}
	if len(c.RootFSProviders) == 0 {
		c.RootFSProviders = []string{"preloaded:cflinuxfs4"}
	}
	if c.PresenceTTL == 0 {
		c.PresenceTTL = Duration(DefaultPresenceTTL)
	}
	if c.ExpireInterval == 0 {
		c.ExpireInterval = Duration(DefaultExpireInterval)
	}
	if c.SyncInterval == 0 {
		c.SyncInterval = Duration(DefaultSyncInterval)
	}
	if c.EvacuationTimeout == 0 {
		c.EvacuationTimeout = Duration(DefaultEvacuationTimeout)
	}
	if c.EvacuationPollingInterval == 0 {
		c.EvacuationPollingInterval = Duration(DefaultEvacuationPollingInterval)
	}
	if c.InstanceIdentityCredDir != "" && c.InstanceIdentityValidityPeriod == 0 {
		c.InstanceIdentityValidityPeriod = Duration(identity.DefaultValidity)
	}
	if c.CachePath == "" && c.ContainerRootDir != "" {
		c.CachePath = filepath.Join(c.ContainerRootDir, "download-cache")
	}
	if c.MaxCacheSizeInBytes == 0 {
		c.MaxCacheSizeInBytes = DefaultMaxCacheSizeInBytes
	}
	if c.MaxConcurrentDownloads == 0 {
		c.MaxConcurrentDownloads = DefaultMaxConcurrentTransfers
	}
	if c.MaxConcurrentUploads == 0 {
		c.MaxConcurrentUploads = DefaultMaxConcurrentTransfers
	}
	if c.HealthyMonitoringInterval == 0 {
		c.HealthyMonitoringInterval = Duration(health.DefaultHealthyInterval)
	}
	if c.UnhealthyMonitoringInterval == 0 {
		c.UnhealthyMonitoringInterval = Duration(health.DefaultStartInterval)
	}
	return c
}

// Validate reports every invalid field.
func (c Settings) Validate() error {
	var errs []error
	req := func(v, name string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	req(c.CellID, "cell_id")
	if err := c.ServerLimits.Validate("server_limits"); err != nil {
		errs = append(errs, err)
	}
	req(c.ListenAddress, "listen_address")
	req(c.LocalAddress, "local_address")
	if c.MetricsAddress != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddress); err != nil {
			errs = append(errs, fmt.Errorf("metrics_address %q must be host:port (or empty for no metrics listener): %w", c.MetricsAddress, err))
		}
	}
	req(c.CAFile, "ca_file")
	req(c.CertFile, "cert_file")
	req(c.KeyFile, "key_file")
	req(c.BBSAddress, "bbs_address")
	req(c.BBSCAFile, "bbs_ca_file")
	req(c.BBSClientCertFile, "bbs_client_cert_file")
	req(c.BBSClientKeyFile, "bbs_client_key_file")
	if c.ContainerRootDir == "" || !filepath.IsAbs(c.ContainerRootDir) {
		errs = append(errs, errors.New("container_root_dir must be an absolute path"))
	}
	if c.ContainerLogDir != "" && !filepath.IsAbs(c.ContainerLogDir) {
		errs = append(errs, errors.New("container_log_dir must be an absolute path"))
	}
	if net.ParseIP(c.HostIP) == nil {
		errs = append(errs, fmt.Errorf("host_ip %q is not an IP address", c.HostIP))
	}
	if c.MemoryMB < 0 || c.DiskMB < 0 || c.MaxContainers < 0 {
		errs = append(errs, errors.New("memory_mb, disk_mb and max_containers must not be negative"))
	}
	if time.Duration(c.PresenceTTL) < 2*time.Second || time.Duration(c.PresenceTTL)%time.Second != 0 {
		errs = append(errs, errors.New("presence_ttl must be a whole number of seconds, at least 2s"))
	}
	if c.ExpireInterval <= 0 {
		errs = append(errs, errors.New("expire_interval must be positive"))
	}
	if c.SyncInterval <= 0 || c.EvacuationTimeout <= 0 || c.EvacuationPollingInterval <= 0 {
		errs = append(errs, errors.New("sync_interval, evacuation_timeout and evacuation_polling_interval must be positive"))
	}
	if c.CachePath != "" && !filepath.IsAbs(c.CachePath) {
		errs = append(errs, errors.New("cache_path must be an absolute path"))
	}
	if c.MaxCacheSizeInBytes < 0 || c.MaxConcurrentDownloads < 0 || c.MaxConcurrentUploads < 0 {
		errs = append(errs, errors.New("max_cache_size_in_bytes, max_concurrent_downloads and max_concurrent_uploads must not be negative"))
	}
	if c.HealthyMonitoringInterval <= 0 || c.UnhealthyMonitoringInterval <= 0 {
		errs = append(errs, errors.New("healthy_monitoring_interval and unhealthy_monitoring_interval must be positive"))
	}
	if _, _, err := parseProviders(c.RootFSProviders); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateContainerEnv()...)
	errs = append(errs, c.Loggregator.validate()...)
	return errors.Join(errs...)
}

// validateContainerEnv checks the instance identity, trusted certificates
// and log limit settings.
func (c Settings) validateContainerEnv() []error {
	var errs []error
	abs := func(v, name string) {
		if v != "" && !filepath.IsAbs(v) {
			errs = append(errs, fmt.Errorf("%s must be an absolute path", name))
		}
	}
	abs(c.InstanceIdentityCredDir, "instance_identity_cred_dir")
	if filepath.Clean(c.InstanceIdentityCredDir) == "/" {
		errs = append(errs, errors.New("instance_identity_cred_dir must be a directory of its own: the rep empties it at start"))
	}
	abs(c.TrustedSystemCertificatesPath, "trusted_system_certificates_path")
	if c.InstanceIdentityCredDir != "" {
		if c.InstanceIdentityCAPath == "" || c.InstanceIdentityPrivateKeyPath == "" {
			errs = append(errs, errors.New("instance_identity_cred_dir needs instance_identity_ca_path and instance_identity_private_key_path (the identity CA)"))
		}
		if c.InstanceIdentityValidityPeriod < 0 {
			errs = append(errs, errors.New("instance_identity_validity_period must be positive"))
		}
	}
	if c.MaxLogLinesPerSecond < 0 {
		errs = append(errs, errors.New("max_log_lines_per_second must not be negative (0 = no limit)"))
	}
	return errs
}

// checkContainerEnvFiles loads the instance identity CA and looks for the
// trusted certificates directory, so that a config check catches them.
func (c Settings) checkContainerEnvFiles() []error {
	var errs []error
	if c.InstanceIdentityCredDir != "" && c.InstanceIdentityCAPath != "" && c.InstanceIdentityPrivateKeyPath != "" {
		if _, err := identity.NewIssuer(c.InstanceIdentityCAPath, c.InstanceIdentityPrivateKeyPath, identity.DefaultValidity); err != nil {
			errs = append(errs, fmt.Errorf("instance_identity_ca_path and instance_identity_private_key_path: %w", err))
		}
	}
	if c.TrustedSystemCertificatesPath != "" {
		if fi, err := os.Stat(c.TrustedSystemCertificatesPath); err != nil || !fi.IsDir() {
			errs = append(errs, fmt.Errorf("trusted_system_certificates_path %s must be a directory (%v)", c.TrustedSystemCertificatesPath, err))
		}
	}
	return errs
}

// parseProviders splits "preloaded:NAME" entries into preloaded names and
// keeps other entries as arbitrary schemes.
func parseProviders(ps []string) (preloaded, schemes []string, err error) {
	for _, p := range ps {
		scheme, name, found := strings.Cut(p, ":")
		switch {
		case scheme == "":
			return nil, nil, fmt.Errorf("rootfs provider %q has no scheme", p)
		case scheme == "preloaded" && (!found || name == ""):
			return nil, nil, fmt.Errorf("rootfs provider %q needs a name", p)
		case scheme == "preloaded":
			preloaded = append(preloaded, name)
		default:
			schemes = append(schemes, scheme)
		}
	}
	return preloaded, schemes, nil
}

func repProviders(preloaded, schemes []string) rep.RootFSProviders {
	out := rep.RootFSProviders{}
	if len(preloaded) > 0 {
		out["preloaded"] = rep.NewFixedSetRootFSProvider(preloaded...)
	}
	for _, s := range schemes {
		out[s] = rep.ArbitraryRootFSProvider{}
	}
	return out
}
