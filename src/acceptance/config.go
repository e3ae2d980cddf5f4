package acceptance

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/target"
)

// Feature groups: each names a set of tests that a config turns on.
const (
	GroupTasks       = "tasks"
	GroupLRPs        = "lrps"
	GroupCrashes     = "crashes"
	GroupPlacement   = "placement"
	GroupZones       = "zones"
	GroupRepKill     = "rep_kill"
	GroupEvacuation  = "evacuation"
	GroupBBSRestart  = "bbs_restart"
	GroupBadRequests = "bad_requests"
	// GroupCloudFoundry runs apps and tasks shaped as Cloud Controller
	// shapes them and the operator CLI's commands; it builds its app with
	// the Go toolchain.
	GroupCloudFoundry = "cloud-foundry"
	// GroupLogs checks app logs, the cells' CELL messages and container
	// metrics reach a Loggregator ingress server the suite runs.
	GroupLogs = "logs"
	// GroupRoutes watches the route emitter's router.register and
	// router.unregister messages on NATS (nats_url); with the evacuation
	// group it also checks the routes of an evacuated instance.
	GroupRoutes = "routes"
	// GroupSSH reaches an instance through the SSH proxy with the OpenSSH
	// client (ssh, scp, sftp, a port forward); it needs the ssh_proxy_*
	// fields and sshd_bundle_url.
	GroupSSH = "ssh"
)

// AllGroups lists every feature group, in the order the suite runs them.
var AllGroups = []string{
	GroupTasks, GroupLRPs, GroupCrashes, GroupPlacement, GroupZones,
	GroupBadRequests, GroupCloudFoundry, GroupLogs, GroupRoutes, GroupSSH, GroupEvacuation, GroupBBSRestart, GroupRepKill,
}

// targetGroups need the target file: they signal component processes or
// call the cells' local endpoints.
var targetGroups = []string{GroupRepKill, GroupEvacuation, GroupBBSRestart}

// Config says which Diego the suite runs against and what it may do there.
type Config struct {
	BBSURL        string `json:"bbs_url"`
	CACert        string `json:"ca_cert"`
	ClientCert    string `json:"client_cert"`
	ClientKey     string `json:"client_key"`
	LocketAddress string `json:"locket_address,omitempty"`
	// RootFS is the rootfs of every desired LRP and task, e.g.
	// "preloaded:cflinuxfs4".
	RootFS string `json:"rootfs"`
	// PlacementTags are tags some (not all need be) cells carry; the
	// placement group desires LRPs with them. Empty: the suite takes the
	// tags of a tagged cell from the BBS.
	PlacementTags []string `json:"placement_tags,omitempty"`
	// FeatureGroups turns groups on; empty means none.
	FeatureGroups []string `json:"feature_groups"`
	// AppURL is where cells download the sample app (a .tgz holding
	// sample-app). Empty: the suite builds it and serves it itself on
	// AppListen.
	AppURL string `json:"app_url,omitempty"`
	// AppTgz is a prebuilt sample-app .tgz (as AppURL would serve) that the
	// suite serves on AppListen instead of building the app: for hosts
	// without a Go toolchain, such as the acceptance-tests errand's VM.
	AppTgz string `json:"app_tgz,omitempty"`
	// AppListen is the address the suite serves the sample app on when
	// AppURL is empty: it must be reachable from the cells (default
	// 127.0.0.1:0, right for a local cluster).
	AppListen string `json:"app_listen,omitempty"`
	// TargetFile is a `diego up` target.json naming component pids and the
	// cells' local URLs; rep_kill, evacuation and bbs_restart need it.
	TargetFile string `json:"target_file,omitempty"`
	// MinCells is how many cells the BBS must list before any test starts
	// (default 1): right after a deploy the reps' presences may still be
	// on their way to Locket. The suite waits up to ReadyTimeout for them.
	MinCells int `json:"min_cells,omitempty"`
	// ReadyTimeout bounds that wait (a Go duration, default 2m).
	ReadyTimeout string `json:"ready_timeout,omitempty"`
	// The logs group's Loggregator ingress server: the suite listens on
	// LoggregatorListen (host:port) with the server certificate
	// LoggregatorCert/LoggregatorKey and takes clients whose certificates
	// chain to LoggregatorCACert. The deployment's reps must send there.
	LoggregatorListen string `json:"loggregator_listen,omitempty"`
	LoggregatorCACert string `json:"loggregator_ca_cert,omitempty"`
	LoggregatorCert   string `json:"loggregator_cert,omitempty"`
	LoggregatorKey    string `json:"loggregator_key,omitempty"`
	// NATSURL is the NATS the route emitters publish to
	// (nats://[user:password@]host:port); the routes group needs it.
	NATSURL string `json:"nats_url,omitempty"`
	// SSHProxyAddress is the SSH proxy's host:port (the ssh group).
	SSHProxyAddress string `json:"ssh_proxy_address,omitempty"`
	// SSHProxyHostFingerprint is the proxy's host key fingerprint as
	// OpenSSH prints it (SHA256:...); empty: not checked.
	SSHProxyHostFingerprint string `json:"ssh_proxy_host_fingerprint,omitempty"`
	// SSHProxyDiegoCredentials is the password of the proxy's diego realm.
	SSHProxyDiegoCredentials string `json:"ssh_proxy_diego_credentials,omitempty"`
	// SSHDBundleURL is where cells download the lifecycle bundle holding
	// diego-sshd (the file server's /v1/static/...).
	SSHDBundleURL string `json:"sshd_bundle_url,omitempty"`
}

// ParseConfig reads a config, makes relative paths relative to dir, fills
// defaults and validates it.
func ParseConfig(r io.Reader, dir string) (Config, error) {
	var c Config
	if err := jsonconfig.Decode(r, &c); err != nil {
		return c, fmt.Errorf("parsing acceptance config: %w", err)
	}
	for _, p := range []*string{&c.CACert, &c.ClientCert, &c.ClientKey, &c.TargetFile, &c.AppTgz, &c.LoggregatorCACert, &c.LoggregatorCert, &c.LoggregatorKey} {
		if *p != "" && !filepath.IsAbs(*p) && dir != "" {
			*p = filepath.Join(dir, *p)
		}
	}
	if c.AppListen == "" {
		c.AppListen = "127.0.0.1:0"
	}
	if c.MinCells == 0 {
		c.MinCells = 1
	}
	if c.ReadyTimeout == "" {
		c.ReadyTimeout = "2m"
	}
	return c, c.Validate()
}

// LoadConfig reads the config file at path.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading acceptance config: %w", err)
	}
	defer f.Close()
	return ParseConfig(f, filepath.Dir(path))
}

// Validate reports every missing field, unknown group, and target-only
// group without a target file.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{
		{"bbs_url", c.BBSURL}, {"ca_cert", c.CACert}, {"client_cert", c.ClientCert},
		{"client_key", c.ClientKey}, {"rootfs", c.RootFS},
	} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("%s is required", f.name))
		}
	}
	if c.BBSURL != "" && !strings.HasPrefix(c.BBSURL, "https://") && !strings.HasPrefix(c.BBSURL, "http://") {
		errs = append(errs, fmt.Errorf("bbs_url %q must be an http(s) URL", c.BBSURL))
	}
	if c.AppURL != "" && c.AppTgz != "" {
		errs = append(errs, errors.New("app_url and app_tgz are exclusive: the cells fetch app_url, the suite serves app_tgz"))
	}
	if c.MinCells < 0 {
		errs = append(errs, fmt.Errorf("min_cells %d must not be negative", c.MinCells))
	}
	if c.ReadyTimeout != "" {
		if d, err := time.ParseDuration(c.ReadyTimeout); err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("ready_timeout %q must be a positive duration such as 2m", c.ReadyTimeout))
		}
	}
	if len(c.FeatureGroups) == 0 {
		errs = append(errs, errors.New("feature_groups is empty: list the groups to run"))
	}
	for _, g := range c.FeatureGroups {
		if !slices.Contains(AllGroups, g) {
			errs = append(errs, fmt.Errorf("unknown feature group %q (known: %s)", g, strings.Join(AllGroups, ", ")))
		} else if slices.Contains(targetGroups, g) && c.TargetFile == "" {
			errs = append(errs, fmt.Errorf("feature group %q needs target_file", g))
		} else if g == GroupLogs && (c.LoggregatorListen == "" || c.LoggregatorCACert == "" || c.LoggregatorCert == "" || c.LoggregatorKey == "") {
			errs = append(errs, errors.New("feature group \"logs\" needs loggregator_listen, loggregator_ca_cert, loggregator_cert and loggregator_key (the suite's ingress server, where the reps send)"))
		} else if g == GroupRoutes && c.NATSURL == "" {
			errs = append(errs, fmt.Errorf("feature group %q needs nats_url, the NATS the route emitters publish to", g))
		} else if g == GroupSSH && (c.SSHProxyAddress == "" || c.SSHProxyDiegoCredentials == "" || c.SSHDBundleURL == "") {
			errs = append(errs, fmt.Errorf("feature group %q needs ssh_proxy_address, ssh_proxy_diego_credentials and sshd_bundle_url", g))
		}
	}
	return errors.Join(errs...)
}

// Enabled reports whether group is turned on.
func (c Config) Enabled(group string) bool { return slices.Contains(c.FeatureGroups, group) }

// Target is a `diego up` target.json (src/target): component pids and the
// cells' local URLs for the disruption groups.
type Target = target.File

// TargetCell is one rep of a `diego up` cluster.
type TargetCell = target.Cell

// LoadTarget reads a target file; relative paths are relative to its
// directory.
func LoadTarget(path string) (Target, error) { return target.Load(path) }

// ConfigFromTarget is the config for running every feature group against
// the `diego up` cluster that wrote the target file at path, but logs: the
// target does not say where its reps send logs (the suite adds it when it
// starts the cluster itself).
func ConfigFromTarget(path string) (Config, error) {
	t, err := LoadTarget(path)
	if err != nil {
		return Config{}, err
	}
	c := Config{
		BBSURL: t.BBSURL, CACert: t.CACert, ClientCert: t.ClientCert, ClientKey: t.ClientKey,
		LocketAddress: t.LocketAddress, RootFS: t.RootFS,
		FeatureGroups: slices.DeleteFunc(slices.Clone(AllGroups), func(g string) bool { return g == GroupLogs }),
		AppListen:     "127.0.0.1:0", TargetFile: path, NATSURL: t.NATSURL,
		SSHProxyAddress: t.SSHProxyAddress, SSHProxyHostFingerprint: t.SSHProxyHostFingerprint,
		SSHProxyDiegoCredentials: t.SSHProxyDiegoCredentials,
		SSHDBundleURL:            t.SSHDBundleURL(),
	}
	if c.RootFS == "" {
		c.RootFS = "preloaded:cflinuxfs4"
	}
	return c, c.Validate()
}
