package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Target describes a running cluster for clients (the CLI, the acceptance
// suite): DIR/target.json. Paths are absolute.
type Target struct {
	BBSURL        string `json:"bbs_url"`
	LocketAddress string `json:"locket_address"`
	AuctioneerURL string `json:"auctioneer_url"`
	CACert        string `json:"ca_cert"`
	ClientCert    string `json:"client_cert"`
	ClientKey     string `json:"client_key"`
	Cells         []Cell `json:"cells"`

	// Beyond the fields: where instances' logs are, what the cells
	// run, and the component processes (for tests that kill or restart them).
	LogDir  string         `json:"log_dir"`
	RootFS  string         `json:"rootfs"`
	Backend string         `json:"backend"`
	Pids    map[string]int `json:"pids"`
}

// Cell is one rep of the cluster.
type Cell struct {
	CellID   string `json:"cell_id"`
	RepURL   string `json:"rep_url"`
	LocalURL string `json:"local_url"`
	Zone     string `json:"zone"`
	Pid      int    `json:"pid"`
}

// TargetFile is the target's path in a cluster directory.
func TargetFile(dir string) string { return filepath.Join(dir, "target.json") }

// WriteTarget writes t to path atomically (readers never see half a file).
func WriteTarget(path string, t Target) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
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

// ReadTarget reads a target file.
func ReadTarget(path string) (Target, error) {
	var t Target
	b, err := os.ReadFile(path)
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
