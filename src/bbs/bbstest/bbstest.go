// Package bbstest starts a real BBS in-process for tests: generated mTLS
// certificates, a real database, loopback listeners, and the reference client.
package bbstest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/bbs/daemon"
	"github.com/diego-go/diego/src/bbs/service"
	"github.com/diego-go/diego/src/pki"
)

// Harness is a running BBS and what it takes to talk to it.
type Harness struct {
	Config     config.Config
	ConfigPath string
	Certs      *pki.Bundle
	Daemon     *daemon.Daemon
	URL        string
	Client     bbs.InternalClient
}

// Options customise a harness.
type Options struct {
	Driver, DSN string
	Keys        map[string]string
	ActiveKey   string
	// Dir holds certs and config; a t.TempDir() by default. Reuse it to restart.
	Dir string
	// NoDesiredCache reads desired LRPs from the database on every call.
	NoDesiredCache bool
	// Auctioneer receives start requests (default: none, logged).
	Auctioneer service.Auctioneer
	// AuctioneerAddress points the BBS at an auctioneer through its config
	// (the production path: a batching dispatcher in front of the client).
	AuctioneerAddress string
	// EmbeddedLocket runs Locket inside the BBS, which then serves only once
	// it holds its lock (as in production).
	EmbeddedLocket bool
	// Configure adjusts the configuration last (e.g. task_callback_workers).
	Configure func(*config.Config)
}

// Start runs a BBS until the test ends.
func Start(t testing.TB, o Options) *Harness {
	t.Helper()
	h, err := TryStart(t, o)
	if err != nil {
		t.Fatalf("starting BBS: %v", err)
	}
	return h
}

// TryStart is Start that returns the start-up error instead of failing.
func TryStart(t testing.TB, o Options) (*Harness, error) {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Keys == nil {
		o.Keys, o.ActiveKey = map[string]string{"k1": "passphrase-one"}, "k1"
	}
	certs, err := pki.GenerateLocal(filepath.Join(o.Dir, "certs"), []string{"127.0.0.1"})
	if err != nil {
		t.Fatalf("certificates: %v", err)
	}
	cfg := config.DefaultConfig()
	cfg.ListenAddress, cfg.HealthAddress = "127.0.0.1:0", "127.0.0.1:0"
	cfg.CAFile, cfg.CertFile, cfg.KeyFile = certs.CACert, certs.ServerCert, certs.ServerKey
	cfg.RepCAFile, cfg.RepClientCertFile, cfg.RepClientKeyFile = certs.CACert, certs.ClientCert, certs.ClientKey
	cfg.AuctioneerCAFile, cfg.AuctioneerClientCertFile, cfg.AuctioneerClientKeyFile = certs.CACert, certs.ClientCert, certs.ClientKey
	cfg.DatabaseDriver, cfg.DatabaseConnectionString = o.Driver, o.DSN
	cfg.EncryptionKeys, cfg.ActiveKeyLabel = o.Keys, o.ActiveKey
	cfg.CacheDesiredLRPs = !o.NoDesiredCache
	cfg.AuctioneerAddress = o.AuctioneerAddress
	if o.EmbeddedLocket {
		cfg.LocketListenAddress = "127.0.0.1:0"
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	path := filepath.Join(o.Dir, "bbs.json")
	WriteConfig(t, path, cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	d, err := daemon.Start(context.Background(), cfg, daemon.Options{ConfigPath: path, Logger: log, Auctioneer: o.Auctioneer})
	if err != nil {
		return nil, err
	}
	h := &Harness{Config: cfg, ConfigPath: path, Certs: certs, Daemon: d}
	t.Cleanup(func() { h.Stop(t) })
	select {
	case <-d.Leading():
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("the BBS did not acquire its lock within 30s")
	}
	h.URL = "https://" + d.Addr()
	h.Client, err = bbs.NewClient(h.URL, certs.CACert, certs.ClientCert, certs.ClientKey, 0, 0)
	if err != nil {
		t.Fatalf("reference client: %v", err)
	}
	return h, nil
}

// Stop shuts the BBS down (idempotent).
func (h *Harness) Stop(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Daemon.Stop(ctx); err != nil {
		t.Logf("stopping BBS: %v", err)
	}
}

// BuildBinary builds the bbs command into dir and returns its path, for
// tests that run the BBS as a process.
func BuildBinary(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "bbs")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/diego-go/diego/src/cmd/bbs").CombinedOutput(); err != nil {
		t.Fatalf("building bbs: %v\n%s", err, out)
	}
	return bin
}

// WriteConfig writes cfg as the JSON the bbs command reads.
func WriteConfig(t testing.TB, path string, cfg config.Config) {
	t.Helper()
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Recorder is an Auctioneer that records every start request.
type Recorder struct {
	mu    sync.Mutex
	LRPs  []service.LRPStartRequest
	Tasks []*models.Task
	// Notify, if set, receives a value after each request is recorded.
	Notify chan struct{}
}

// RequestLRPAuctions records the requests.
func (r *Recorder) RequestLRPAuctions(_ context.Context, reqs []service.LRPStartRequest) error {
	r.mu.Lock()
	r.LRPs = append(r.LRPs, reqs...)
	r.mu.Unlock()
	r.notify()
	return nil
}

// RequestTaskAuctions records the tasks.
func (r *Recorder) RequestTaskAuctions(_ context.Context, tasks []*models.Task) error {
	r.mu.Lock()
	r.Tasks = append(r.Tasks, tasks...)
	r.mu.Unlock()
	r.notify()
	return nil
}

func (r *Recorder) notify() {
	if r.Notify != nil {
		select {
		case r.Notify <- struct{}{}:
		default:
		}
	}
}

// TaskGuids returns, and forgets, the guids of the tasks requested so far.
func (r *Recorder) TaskGuids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, t := range r.Tasks {
		out = append(out, t.TaskGuid)
	}
	r.Tasks = nil
	return out
}

// Indices returns, and forgets, the LRP indices requested so far, as "guid/index".
func (r *Recorder) Indices() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, q := range r.LRPs {
		for _, i := range q.Indices {
			out = append(out, fmt.Sprintf("%s/%d", q.SchedulingInfo.ProcessGuid, i))
		}
	}
	r.LRPs = nil
	sort.Strings(out)
	return out
}
