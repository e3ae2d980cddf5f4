// Package cluster runs a complete Diego on one machine (Locket, the BBS, the
// auctioneer and N reps as supervised child processes of their own
// binaries), generating certificates, keys and configs under one state
// directory, and describes it in a target file for clients.
package cluster

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/diego-go/diego/src/bbs/reencrypt"
)

// Defaults.
const (
	DefaultCells    = 3
	DefaultPortBase = 8889
	DefaultBackend  = "process"
	// RootFSName is the preloaded rootfs every cell offers.
	RootFSName = "cflinuxfs4"
)

// Options configure a local cluster.
type Options struct {
	// Dir holds everything: certs, configs, databases, logs, containers and
	// target.json. Running again on the same Dir resumes the cluster.
	Dir string
	// Cells is the number of reps (zones z1..z3, round robin).
	Cells int
	// DB is "" (SQLite files in Dir), a postgres:// URL or a mysql:// URL.
	DB string
	// Backend is "process" or "runc" (root).
	Backend string
	// PortBase is the BBS port; the other components listen above it:
	// BBS health +1, Locket +2, auctioneer +3, rep i at +10+2i (local +11+2i),
	// the auctioneer's and Locket's metrics at +204 and +205 (metrics.go).
	PortBase int
	// CellTags gives cells placement tags, by cell id (cell-1, ...).
	CellTags map[string][]string
	// Loggregator, when its Address is set, has the reps send app logs there.
	Loggregator LoggregatorOptions
	// NATSURL names an existing NATS server for the route emitter
	// (nats://[user:pass@]host:port); empty embeds one at PortBase+4.
	NATSURL string
	// HA runs two Locket servers, two BBS and two auctioneers, one of each
	// in zones z1 and z2 (z2's at PortBase+200..+203), on one PostgreSQL or
	// MySQL database; clients are given every address.
	HA bool
	// Vault, with an Address, has the BBS read its key ring from Vault (vault.go).
	Vault VaultOptions
	// Reencrypt paces the BBS's online re-encryption after a key rotation
	// (reencrypt_batch_size and reencrypt_batch_pause; zero: unpaced), e.g.
	// to watch a rotation's progress on a cluster of a few rows.
	Reencrypt reencrypt.Pacing
	// NoHub leaves the Hub (the web UI, src/hub) out; by default it runs on
	// PortBase+8 and target.json names it as hub_url.
	NoHub bool
	// BinDir holds the bbs, locket, auctioneer and rep binaries.
	BinDir string
	// Out receives progress for people (nil = discarded).
	Out io.Writer
	// Logger receives the supervisor's structured logs (nil = discarded).
	Logger *slog.Logger
}

// WithDefaults fills zero fields.
func (o Options) WithDefaults() Options {
	if o.Cells == 0 {
		o.Cells = DefaultCells
	}
	if o.Backend == "" {
		o.Backend = DefaultBackend
	}
	if o.PortBase == 0 {
		o.PortBase = DefaultPortBase
	}
	if o.BinDir == "" {
		if exe, err := os.Executable(); err == nil {
			o.BinDir = filepath.Dir(exe)
		}
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate reports every invalid option.
func (o Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("--dir is required"))
	}
	if o.Cells < 1 || o.Cells > 50 {
		errs = append(errs, fmt.Errorf("--cells %d: want 1 to 50", o.Cells))
	}
	if o.Backend != "process" && o.Backend != "runc" {
		errs = append(errs, fmt.Errorf("--backend %q: want process or runc", o.Backend))
	}
	if o.Backend == "runc" && os.Geteuid() != 0 {
		errs = append(errs, errors.New("--backend runc needs root (namespaces, cgroups, mounts); run as root or use --backend process"))
	}
	if top := o.topPort(); o.PortBase < 1024 || top > 65535 {
		errs = append(errs, fmt.Errorf("--port-base %d: want 1024 or more, leaving room for %d ports above it", o.PortBase, top-o.PortBase+1))
	}
	if o.HA && o.DB == "" {
		errs = append(errs, errors.New("--ha needs a database every BBS and Locket server shares: pass --db postgres://... or --db mysql://... (SQLite, the default, is a file only one process may write; it cannot back two BBS)"))
	}
	for id := range o.CellTags {
		var n int
		if _, err := fmt.Sscanf(id, "cell-%d", &n); err != nil || n < 1 || n > o.Cells {
			errs = append(errs, fmt.Errorf("--cell-tags %s: no such cell (cells are cell-1 to cell-%d)", id, o.Cells))
		}
	}
	errs = append(errs, o.Loggregator.validate()...)
	errs = append(errs, o.Vault.validate()...)
	if err := o.Reencrypt.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--reencrypt-batch-size/--reencrypt-batch-pause: %w", err))
	}
	if _, _, err := databaseFor(o.DB, ""); err != nil {
		errs = append(errs, err)
	}
	if o.NATSURL != "" {
		if u, err := url.Parse(o.NATSURL); err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--nats %q: want nats://[user:password@]host:port", o.NATSURL))
		}
	}
	bins := componentBinaries
	if !o.NoHub {
		bins = append(bins[:len(bins):len(bins)], "hub")
	}
	for _, bin := range bins {
		if _, err := os.Stat(filepath.Join(o.BinDir, bin)); err != nil {
			errs = append(errs, fmt.Errorf("%s binary not found in %s (build everything with `make build`, or pass --bin-dir)", bin, o.BinDir))
		}
	}
	return errors.Join(errs...)
}

// topPort is the highest port the cluster listens on: the last metrics
// listener (metrics.go), above the cells' and --ha's ports.
func (o Options) topPort() int {
	zones := 1
	if o.HA {
		zones = 2
	}
	return max(o.PortBase+11+2*(o.Cells-1), o.PortBase+metricsOffset+2*zones-1)
}

// componentBinaries are the programs diego up runs from BinDir.
var componentBinaries = []string{"bbs", "locket", "auctioneer", "rep", "file-server", "ssh-proxy", "route-emitter"}

// databaseFor maps --db onto a driver and connection string; sqliteFile is
// used when db is empty.
func databaseFor(db, sqliteFile string) (driver, dsn string, err error) {
	if db == "" {
		return "sqlite", sqliteFile, nil
	}
	u, err := url.Parse(db)
	if err != nil {
		return "", "", fmt.Errorf("--db %q: %w", db, err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	switch u.Scheme {
	case "postgres", "postgresql":
		if name == "" {
			return "", "", fmt.Errorf("--db %q: name the database, e.g. postgres://postgres@127.0.0.1:5432/diego?sslmode=disable", db)
		}
		return "postgres", db, nil
	case "mysql":
		if name == "" || u.Host == "" {
			return "", "", fmt.Errorf("--db %q: name the host and database, e.g. mysql://root@127.0.0.1:3306/diego", db)
		}
		c := mysql.NewConfig()
		c.User = u.User.Username()
		c.Passwd, _ = u.User.Password()
		c.Net, c.Addr, c.DBName = "tcp", u.Host, name
		c.ParseTime = true
		for k, vs := range u.Query() {
			if c.Params == nil {
				c.Params = map[string]string{}
			}
			c.Params[k] = vs[len(vs)-1]
		}
		return "mysql", c.FormatDSN(), nil
	}
	return "", "", fmt.Errorf("--db %q: want a postgres:// or mysql:// URL (or nothing for SQLite)", db)
}
