package cluster

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	auctioneerdaemon "github.com/diego-go/diego/src/auctioneer/daemon"
	bbsconfig "github.com/diego-go/diego/src/bbs/config"
	locketdaemon "github.com/diego-go/diego/src/locket/daemon"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/process"
	"github.com/diego-go/diego/src/rep/container/runc"
	repdaemon "github.com/diego-go/diego/src/rep/daemon"
)

// layout is where everything of a cluster lives and listens.
type layout struct {
	opts  Options
	dir   string
	certs *pki.Bundle
	key   string // the BBS encryption passphrase
	// net, when set, puts each cell in a network namespace of its own; the
	// other components then listen on its bridge's address.
	net *cellNet
}

// host is where the control plane and the edge listen.
func (l layout) host() string {
	if l.net != nil {
		return l.net.hostIP()
	}
	return "127.0.0.1"
}

func (l layout) addr(offset int) string {
	return net.JoinHostPort(l.host(), strconv.Itoa(l.opts.PortBase+offset))
}

// cellHost is where cell i's rep and instances answer.
func (l layout) cellHost(i int) string {
	if l.net != nil {
		return l.net.cellIP(i)
	}
	return "127.0.0.1"
}

// certHosts are the addresses the server certificate covers.
func (l layout) certHosts() []string {
	hosts := []string{"127.0.0.1", "localhost"}
	if l.net != nil {
		hosts = append(hosts, l.net.hostIP())
		for i := 0; i < l.opts.Cells; i++ {
			hosts = append(hosts, l.net.cellIP(i))
		}
	}
	return hosts
}

func (l layout) bbsAddr() string        { return l.bbsAddrZ(0) }
func (l layout) healthAddr() string     { return l.healthAddrZ(0) }
func (l layout) locketAddr() string     { return l.locketAddrZ(0) }
func (l layout) auctioneerAddr() string { return l.auctioneerAddrZ(0) }
func (l layout) repAddr(i int) string {
	return net.JoinHostPort(l.cellHost(i), strconv.Itoa(l.opts.PortBase+10+2*i))
}
func (l layout) localAddr(i int) string {
	return net.JoinHostPort(l.cellHost(i), strconv.Itoa(l.opts.PortBase+11+2*i))
}

func (l layout) cellID(i int) string { return fmt.Sprintf("cell-%d", i+1) }
func (l layout) zone(i int) string   { return fmt.Sprintf("z%d", i%3+1) }

func (l layout) configFile(name string) string { return filepath.Join(l.dir, "config", name+".json") }
func (l layout) logFile(name string) string    { return filepath.Join(l.dir, "logs", name+".log") }
func (l layout) appLogDir() string             { return filepath.Join(l.dir, "logs", "apps") }
func (l layout) rootfsDir() string             { return filepath.Join(l.dir, "rootfs", "busybox") }

// database is the BBS's and Locket's: --db, or SQLite in the cluster
// directory.
func (l layout) database() (driver, dsn string, err error) {
	return databaseFor(l.opts.DB, filepath.Join(l.dir, "bbs.db"))
}

// locketConfig is zone z's Locket's config. Locket shares the BBS's
// database: the BBS reads cell presences from it.
func (l layout) locketConfig(z int) (locketdaemon.Config, error) {
	c := locketdaemon.DefaultConfig()
	driver, dsn, err := l.database()
	if err != nil {
		return c, err
	}
	c.ListenAddress = l.locketAddrZ(z)
	c.CAFile, c.ServerCertFile, c.ServerKeyFile = l.certs.CACert, l.certs.ServerCert, l.certs.ServerKey
	c.DatabaseDriver, c.DatabaseConnectionString = driver, dsn
	c.MetricsAddress = l.locketMetricsAddrZ(z)
	c.LogLevel = "info"
	return c, nil
}

// bbsConfig is zone z's BBS's config: its defaults, with the cluster's
// addresses, certificates, database and key, and short intervals so that a
// local cluster converges quickly.
func (l layout) bbsConfig(z int) (bbsconfig.Config, error) {
	c := bbsconfig.DefaultConfig()
	driver, dsn, err := l.database()
	if err != nil {
		return c, err
	}
	c.ListenAddress, c.HealthAddress = l.bbsAddrZ(z), l.healthAddrZ(z)
	c.CAFile, c.CertFile, c.KeyFile = l.certs.CACert, l.certs.ServerCert, l.certs.ServerKey
	c.DatabaseDriver, c.DatabaseConnectionString = driver, dsn
	c.EncryptionKeys, c.ActiveKeyLabel = map[string]string{"local": l.key}, "local"
	c.LocketAddress = l.locketAddrs(z)
	c.LocketCAFile, c.LocketClientCertFile, c.LocketClientKeyFile = l.certs.CACert, l.certs.ClientCert, l.certs.ClientKey
	c.LockTTL, c.LockRetryInterval = bbsconfig.Duration(15*time.Second), bbsconfig.Duration(5*time.Second) // the reference's: a busy machine must not cost the lock
	c.AuctioneerAddress = l.auctioneerAddrs()
	c.ConvergenceRepeatInterval = bbsconfig.Duration(5 * time.Second)
	c.CellPresencePollInterval = bbsconfig.Duration(time.Second)
	c.ReencryptBatchSize, c.ReencryptBatchPause = l.opts.Reencrypt.BatchSize, bbsconfig.Duration(l.opts.Reencrypt.BatchPause)
	c.LogLevel = "info"
	l.vaultKeySource(&c)
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("the BBS config: %w", err)
	}
	return c, nil
}

// auctioneerConfig is zone z's auctioneer's config: it holds the
// auctioneer lock in Locket and calls the BBS and the reps with the client
// certificate.
func (l layout) auctioneerConfig(z int) auctioneerdaemon.Config {
	c, k := auctioneerdaemon.DefaultConfig(), l.certs
	c.ListenAddress = l.auctioneerAddrZ(z)
	c.CAFile, c.ServerCertFile, c.ServerKeyFile = k.CACert, k.ServerCert, k.ServerKey
	c.LocketAddress = l.locketAddrs(z)
	c.LocketCAFile, c.LocketClientCertFile, c.LocketClientKeyFile = k.CACert, k.ClientCert, k.ClientKey
	c.LockTTL, c.LockRetryInterval = auctioneerdaemon.Duration(15*time.Second), auctioneerdaemon.Duration(5*time.Second)
	c.BBSAddress = l.bbsURLs()
	c.BBSCAFile, c.BBSClientCertFile, c.BBSClientKeyFile = k.CACert, k.ClientCert, k.ClientKey
	c.RepCAFile, c.RepClientCertFile, c.RepClientKeyFile = k.CACert, k.ClientCert, k.ClientKey
	c.MetricsAddress = l.auctioneerMetricsAddrZ(z)
	c.LogLevel = "info"
	return c
}

func (l layout) cellDir(i int) string { return filepath.Join(l.dir, "cells", l.cellID(i)) }

// repConfig is cell i's config: its zone, addresses and certificates, a
// port range of its own, and the backend's section.
func (l layout) repConfig(i int) repdaemon.Config {
	c, k := repdaemon.DefaultConfig(), l.certs
	c.Settings = repdaemon.Joining(l.cellID(i), l.zone(i), l.bbsURLs(), l.locketAddrs(l.cellZone(i)), k)
	c.ListenAddress, c.LocalAddress = l.repAddr(i), l.localAddr(i)
	c.ContainerRootDir = filepath.Join(l.cellDir(i), "containers")
	c.ContainerLogDir = l.appLogDir()
	c.RootFSProviders = []string{"preloaded:" + RootFSName}
	c.HostIP = l.cellHost(i)
	c.PresenceTTL = repdaemon.Duration(10 * time.Second)
	// The bulk sync at the BBS's convergence interval (as the reference's
	// 30 s and 30 s): a cell back from a partition drops what was
	// replaced elsewhere within one interval.
	c.SyncInterval = repdaemon.Duration(5 * time.Second)
	c.PlacementTags = l.opts.CellTags[l.cellID(i)]
	c.Backend, c.LogLevel = l.opts.Backend, "info"
	c.InstanceIdentityCredDir = filepath.Join(l.cellDir(i), "instance-identity")
	c.InstanceIdentityCAPath, c.InstanceIdentityPrivateKeyPath = l.identityCACert(), l.identityCAKey()
	c.TrustedSystemCertificatesPath = l.trustedCertsDir()
	c.Loggregator = l.opts.Loggregator.repSettings()
	ports := host.Settings{PortRangeStart: uint32(61000 + 1000*i), PortRangeEnd: uint32(61999 + 1000*i)}
	switch l.opts.Backend {
	case "process":
		c.Process = &process.Config{Settings: ports}
	case "runc":
		c.Runc = &runc.Config{Settings: ports,
			StateDir:     filepath.Join(l.cellDir(i), "runc"),
			RootFSes:     map[string]string{RootFSName: l.rootfsDir()},
			NetworkCIDR:  fmt.Sprintf("10.%d.0.0/16", 200+i),
			CgroupParent: fmt.Sprintf("diego-up-%08x-%s", crc32.ChecksumIEEE([]byte(l.dir)), l.cellID(i)),
		}
	}
	return c
}

// writeConfig writes a component's config (0600: it holds the key).
func writeConfig(path string, cfg any) error {
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// readOrCreateKey reads the cluster's BBS encryption passphrase, making a
// random one on the first start.
func readOrCreateKey(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if k := strings.TrimSpace(string(b)); k != "" {
			return k, nil
		}
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	k := base64.StdEncoding.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the encryption key: %w", err)
	}
	return k, nil
}
