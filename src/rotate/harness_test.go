package rotate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/bbs/daemon"
	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/sqlstore"
	"github.com/diego-go/diego/src/internal/vaulttest"
	"github.com/diego-go/diego/src/locket/record"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rotate"
)

const (
	secret    = "TOP-SECRET-4b1d-ROTATE-PLAINTEXT"
	vaultPath = "diego/bbs/encryption"
)

var logger = lager.NewLogger("rotate-test")

// env is one Vault stand-in and the BBSs reading their keys from it.
type env struct {
	t      testing.TB
	driver string
	dsn    string
	dir    string
	vault  *vaulttest.Server
	certs  *pki.Bundle
}

func newEnv(t testing.TB, driver, dsn string, tlsVault bool) *env {
	dir := t.TempDir()
	certs, err := pki.GenerateLocal(filepath.Join(dir, "certs"), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, driver: driver, dsn: dsn, dir: dir, certs: certs, vault: vaulttest.Start(t, vaulttest.Options{TLS: tlsVault})}
	e.vault.Put("secret", vaultPath, map[string]any{"active_key_label": "k1", "keys": map[string]any{"k1": "first-passphrase"}})
	return e
}

// doc is the key ring currently in Vault.
func (e *env) doc() keyring.Doc {
	v, err := keyring.NewVault(keyring.VaultConfig{Address: e.vault.URL, Path: vaultPath, Token: e.vault.RootToken, CACertFile: e.vault.CACertFile})
	if err != nil {
		e.t.Fatal(err)
	}
	d, _, err := v.Read(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

type bbsProc struct {
	e      *env
	cfg    config.Config
	d      *daemon.Daemon
	URL    string
	Client bbs.InternalClient
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (e *env) config(token string) config.Config {
	cfg := config.DefaultConfig()
	cfg.ListenAddress, cfg.HealthAddress = freeAddr(e.t), "127.0.0.1:0"
	c := e.certs
	cfg.CAFile, cfg.CertFile, cfg.KeyFile = c.CACert, c.ServerCert, c.ServerKey
	cfg.RepCAFile, cfg.RepClientCertFile, cfg.RepClientKeyFile = c.CACert, c.ClientCert, c.ClientKey
	cfg.AuctioneerCAFile, cfg.AuctioneerClientCertFile, cfg.AuctioneerClientKeyFile = c.CACert, c.ClientCert, c.ClientKey
	cfg.DatabaseDriver, cfg.DatabaseConnectionString = e.driver, e.dsn
	cfg.EncryptionKeySource.Type = config.KeySourceVault
	v := &cfg.EncryptionKeySource.Vault
	v.Address, v.CACertFile = e.vault.URL, e.vault.CACertFile
	if token == "" {
		token = e.vault.RootToken
	}
	tf := filepath.Join(e.t.TempDir(), "vault-token")
	if err := os.WriteFile(tf, []byte(token+"\n"), 0o600); err != nil {
		e.t.Fatal(err)
	}
	v.TokenFile = tf
	return cfg
}

// startBBS starts a BBS with the vault key source.
func (e *env) startBBS() *bbsProc {
	b, err := e.tryStart(e.config(""))
	if err != nil {
		e.t.Fatalf("starting BBS: %v", err)
	}
	return b
}

func (e *env) tryStart(cfg config.Config) (*bbsProc, error) {
	if err := cfg.Validate(); err != nil {
		e.t.Fatalf("config: %v", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	d, err := daemon.Start(context.Background(), cfg, daemon.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	b := &bbsProc{e: e, cfg: cfg, d: d, URL: "https://" + d.Addr()}
	e.t.Cleanup(b.stop)
	b.Client, err = bbs.NewClient(b.URL, e.certs.CACert, e.certs.ClientCert, e.certs.ClientKey, 0, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return b, nil
}

func (b *bbsProc) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_ = b.d.Stop(ctx)
}

// restart stops the BBS and starts a new one on the same address and database.
func (b *bbsProc) restart() {
	b.stop()
	nb, err := b.e.tryStart(b.cfg)
	if err != nil {
		b.e.t.Errorf("restarting BBS: %v", err)
		return
	}
	*b = *nb
}

func (e *env) rotateConfig(urls ...string) rotate.Config {
	v, err := keyring.NewVault(keyring.VaultConfig{Address: e.vault.URL, Path: vaultPath, Token: e.vault.RootToken,
		CACertFile: e.vault.CACertFile, MaxRetries: -1})
	if err != nil {
		e.t.Fatal(err)
	}
	hc, err := rotate.AdminHTTPClient(e.certs.CACert, e.certs.AdminCert, e.certs.AdminKey, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return rotate.Config{Vault: v, BBSAdminURLs: urls, HTTPClient: hc, Progress: tlog{e.t}, PollInterval: 20 * time.Millisecond}
}

type tlog struct{ t testing.TB }

func (l tlog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// populate writes desired LRPs (each with instances actual LRPs, the i-th
// desired LRP having 2 or 3) and tasks straight into the store, under the
// key ring now in Vault, before a BBS starts. Every payload holds the secret.
func (e *env) populate(desired, actual, tasks int) {
	ctx := context.Background()
	d := e.doc()
	ring, err := keyring.NewRing(d.Keys, d.ActiveKeyLabel)
	if err != nil {
		e.t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, sqlstore.Config{Driver: e.driver, DSN: e.dsn}, ring, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer st.Close()
	cell, _ := json.Marshal(models.NewCellPresence("cell-1", "https://cell:1801", "https://cell:1801", "z1",
		models.NewCellCapacity(1<<20, 1<<20, 100000), nil, nil, nil, nil))
	if _, err := st.AcquireLock(ctx, record.Lock{Key: "cell-1", Owner: "cell-1", Value: string(cell), Type: "presence", TTLSeconds: 3600}); err != nil {
		e.t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.UpsertDomain("pop", time.Time{}) }); err != nil {
		e.t.Fatal(err)
	}
	const batch = 1000
	n := 0
	for start := 0; start < desired; start += batch {
		err := st.Update(ctx, func(tx store.Tx) error {
			for i := start; i < min(start+batch, desired); i++ {
				g := fmt.Sprintf("pop-%08d", i)
				inst := int32(2)
				if actual > 2*desired && i%2 == 0 { // 2.5 per desired on average
					inst = 3
				}
				dl := desiredLRP(g, "pop", inst, secret)
				if err := tx.InsertDesiredLRP(dl); err != nil {
					return err
				}
				for j := int32(0); j < inst && n < actual; j++ {
					n++
					a := &models.ActualLRP{ActualLRPKey: models.NewActualLRPKey(g, j, "pop"),
						ActualLRPInstanceKey: models.NewActualLRPInstanceKey(fmt.Sprintf("ig-%d", n), "cell-1"),
						ActualLRPNetInfo:     models.NewActualLRPNetInfo("10.0.0.1", "10.1.0.1", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(61000, 8080)),
						State:                models.ActualLRPStateRunning, Since: 1, Presence: models.ActualLRP_Ordinary,
						MetricTags:              map[string]string{"tag": secret},
						ActualLrpInternalRoutes: []*models.ActualLRPInternalRoute{{Hostname: secret + ".internal"}},
						ModificationTag:         models.ModificationTag{Epoch: "e"}}
					if err := tx.InsertActualLRP(a); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			e.t.Fatal(err)
		}
	}
	for start := 0; start < tasks; start += batch {
		err := st.Update(ctx, func(tx store.Tx) error {
			for i := start; i < min(start+batch, tasks); i++ {
				task := &models.Task{TaskGuid: fmt.Sprintf("pop-task-%08d", i), Domain: "pop", State: models.Task_Pending,
					CreatedAt: time.Now().UnixNano(), UpdatedAt: time.Now().UnixNano(), TaskDefinition: taskDef(secret)}
				if err := tx.InsertTask(task); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			e.t.Fatal(err)
		}
	}
}

func desiredLRP(guid, domain string, instances int32, secret string) *models.DesiredLRP {
	raw := json.RawMessage(`[{"hostnames":["` + strings.ToLower(secret) + `.example.com"],"port":8080}]`)
	return &models.DesiredLRP{ProcessGuid: guid, Domain: domain, RootFs: "preloaded:cflinuxfs4", Instances: instances,
		MemoryMb: 256, DiskMb: 256, LogGuid: guid, Ports: []uint32{8080},
		EnvironmentVariables: []*models.EnvironmentVariable{{Name: "SECRET", Value: secret}},
		Action:               models.WrapAction(&models.RunAction{Path: "/bin/app", Args: []string{"-secret", secret}, User: "vcap"}),
		Routes:               &models.Routes{"cf-router": &raw},
		MetricTags:           map[string]*models.MetricTagValue{"source_id": {Static: guid}},
		ModificationTag:      &models.ModificationTag{Epoch: "e"}}
}

func taskDef(secret string) *models.TaskDefinition {
	return &models.TaskDefinition{RootFs: "preloaded:cflinuxfs4", MemoryMb: 64, DiskMb: 64,
		Action: models.WrapAction(&models.RunAction{Path: "/bin/sh", Args: []string{"-c", "echo " + secret}, User: "vcap"})}
}

// status is the BBS's encryption status through the admin API.
func (b *bbsProc) status() (active string, labels []string, perLabel map[string]int64) {
	st, err := b.d.Rotation.Status(context.Background())
	if err != nil {
		b.e.t.Fatal(err)
	}
	perLabel = map[string]int64{}
	for _, c := range st.Counts {
		perLabel[c.Label] += c.Rows
	}
	return st.ActiveLabel, st.Labels, perLabel
}

// checkConverged asserts the end state of a rotation: Vault holds one key,
// active, no rotation marker; the BBS holds exactly it; every row is under it.
func checkConverged(t testing.TB, e *env, b *bbsProc, notLabel string) string {
	t.Helper()
	d := e.doc()
	if len(d.Keys) != 1 || d.RotatingTo != "" || d.ActiveKeyLabel == notLabel {
		t.Fatalf("Vault document after rotation: active %q keys %v rotating_to %q", d.ActiveKeyLabel, d.Labels(), d.RotatingTo)
	}
	active, labels, per := b.status()
	if active != d.ActiveKeyLabel || len(labels) != 1 || labels[0] != active {
		t.Fatalf("BBS after rotation: active %q labels %v; Vault active %q", active, labels, active)
	}
	for l, n := range per {
		if l != active && n > 0 {
			t.Fatalf("%d rows still under %q after rotation (counts %v)", n, l, per)
		}
	}
	return active
}

// readAll reads every record back through the API (all must open).
func readAll(t testing.TB, b *bbsProc) (desired, actual, tasks int) {
	t.Helper()
	ds, err := b.Client.DesiredLRPs(logger, "", models.DesiredLRPFilter{})
	if err != nil {
		t.Fatalf("desired LRPs: %v", err)
	}
	for _, d := range ds {
		if d.Domain == "pop" && d.EnvironmentVariables[0].Value != secret {
			t.Fatalf("desired LRP %s does not read back", d.ProcessGuid)
		}
	}
	if _, err := b.Client.DesiredLRPSchedulingInfos(logger, "", models.DesiredLRPFilter{}); err != nil {
		t.Fatalf("scheduling infos: %v", err)
	}
	as, err := b.Client.ActualLRPs(logger, "", models.ActualLRPFilter{})
	if err != nil {
		t.Fatalf("actual LRPs: %v", err)
	}
	ts, err := b.Client.Tasks(logger, "")
	if err != nil {
		t.Fatalf("tasks: %v", err)
	}
	return len(ds), len(as), len(ts)
}

// rotateConfigToken is rotateConfig authenticating to Vault with token.
func (e *env) rotateConfigToken(token string, urls ...string) rotate.Config {
	cfg := e.rotateConfig(urls...)
	v, err := keyring.NewVault(keyring.VaultConfig{Address: e.vault.URL, Path: vaultPath, Token: token,
		CACertFile: e.vault.CACertFile, MaxRetries: -1})
	if err != nil {
		e.t.Fatal(err)
	}
	cfg.Vault = v
	return cfg
}
