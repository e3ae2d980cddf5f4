// Package target is the schema of target.json, the file `diego up` writes to
// say where a running cluster is: the CLI and the acceptance suite read it.
package target

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// File is target.json. `diego up` writes absolute paths; a reader takes a
// relative path as relative to the file's directory.
type File struct {
	BBSURL        string `json:"bbs_url"`
	LocketAddress string `json:"locket_address"`
	AuctioneerURL string `json:"auctioneer_url"`
	CACert        string `json:"ca_cert"`
	ClientCert    string `json:"client_cert"`
	ClientKey     string `json:"client_key"`
	Cells         []Cell `json:"cells"`

	// LogDir holds container logs as LogDir/<process_guid>/<index>.log.
	LogDir string `json:"log_dir"`
	// RootFS is what the cells run, e.g. preloaded:busybox.
	RootFS string `json:"rootfs"`
	// Backend is the cells' container backend (process or runc).
	Backend string `json:"backend"`
	// NATSURL is the NATS server the route emitter publishes to.
	NATSURL string `json:"nats_url,omitempty"`
	// RouteEmitterURL serves the route emitter's routing table
	// (GET /routes), for `diego routes`.
	RouteEmitterURL string `json:"route_emitter_url,omitempty"`
	// SSHProxyAddress is the SSH proxy's host:port.
	SSHProxyAddress string `json:"ssh_proxy_address,omitempty"`
	// SSHProxyHostFingerprint is the proxy's host key fingerprint
	// (SHA256:base64, as OpenSSH prints it).
	SSHProxyHostFingerprint string `json:"ssh_proxy_host_fingerprint,omitempty"`
	// SSHProxyDiegoCredentials is the password of the proxy's diego realm
	// (user diego:PROCESS_GUID/INDEX).
	SSHProxyDiegoCredentials string `json:"ssh_proxy_diego_credentials,omitempty"`
	// FileServerURL serves the lifecycle bundles (diego-sshd among them).
	FileServerURL string `json:"file_server_url,omitempty"`
	// HubURL is Diego Hub's (the web UI and its JSON API); "" when diego
	// up ran with --no-hub.
	HubURL string `json:"hub_url,omitempty"`
	// MetricsURLs are the components' Prometheus endpoints by name, as Diego
	// Hub shows them: bbs (the BBS's health listener's /metrics), auctioneer
	// and locket, and under --ha bbs-z2, auctioneer-z2 and locket-z2.
	// Optional: a file without it gives a Hub with no metric figures.
	MetricsURLs map[string]string `json:"metrics_urls,omitempty"`
	// BBSHealthURLs are every BBS's health listener (diego up --ha): GET
	// /leader answers 200 on the BBS holding the lock, 503 on a standby.
	// BBSURL and LocketAddress then list every server, comma-separated.
	BBSHealthURLs []string `json:"bbs_health_urls,omitempty"`
	// PIDs are the component processes by name (bbs, locket, auctioneer),
	// for tests that kill or restart them.
	PIDs map[string]int `json:"pids"`
}

// Cell is one rep of the cluster.
type Cell struct {
	CellID   string `json:"cell_id"`
	RepURL   string `json:"rep_url"`
	LocalURL string `json:"local_url"`
	Zone     string `json:"zone"`
	PID      int    `json:"pid"`
	// Netns is the cell's network namespace (diego up --ha as root).
	Netns string `json:"netns,omitempty"`
}

// SSHDBundlePath is where, under the file server's /v1/static/, `diego up`
// serves the lifecycle bundle holding diego-sshd.
const SSHDBundlePath = "diego-sshd/diego-sshd.tgz"

// SSHDBundleURL is the diego-sshd bundle's URL on the file server; "" when
// the file names no file server.
func (f File) SSHDBundleURL() string {
	if f.FileServerURL == "" {
		return ""
	}
	return strings.TrimRight(f.FileServerURL, "/") + "/v1/static/" + SSHDBundlePath
}

// Path is the target file's path in a cluster directory.
func Path(dir string) string { return filepath.Join(dir, "target.json") }

// Cell returns the cell with the given id.
func (f File) Cell(id string) (Cell, bool) {
	for _, c := range f.Cells {
		if c.CellID == id {
			return c, true
		}
	}
	return Cell{}, false
}

// Load reads a target file; relative paths are made relative to its
// directory.
func Load(path string) (File, error) {
	var f File
	b, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("reading target file: %w", err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("parsing target file %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for _, p := range []*string{&f.CACert, &f.ClientCert, &f.ClientKey, &f.LogDir} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	return f, nil
}

// Write writes f to path atomically: readers never see half a file.
func Write(path string, f File) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding target file: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
