package auctioneer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/auction"
	"github.com/diego-go/diego/src/auctionapi"
	"github.com/diego-go/diego/src/auctioneer/fakerep"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/pki"
)

var testLogger = testutil.Logger

var (
	certsOnce sync.Once
	certs     *pki.Bundle
	certsErr  error
)

// testCerts is one CA and server/client certificates for the package's tests.
func testCerts(t testing.TB) *pki.Bundle {
	t.Helper()
	certsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "auctioneer-certs")
		if err != nil {
			certsErr = err
			return
		}
		certs, certsErr = pki.GenerateLocal(filepath.Join(dir, "certs"), nil)
	})
	if certsErr != nil {
		t.Fatal(certsErr)
	}
	return certs
}

// startCells runs n simulated cells over mutual TLS, spread over zones.
func startCells(t testing.TB, n int, zones []string, total rep.Resources, enforce bool) []*fakerep.Cell {
	t.Helper()
	b := testCerts(t)
	tlsCfg, err := pki.ServerTLSConfig(b.CACert, b.ServerCert, b.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	cells := make([]*fakerep.Cell, n)
	for i := range cells {
		c, err := fakerep.Start(fakerep.Config{CellID: fmt.Sprintf("cell-%02d", i), Zone: zones[i%len(zones)], Index: i, Total: total, Enforce: enforce, TLS: tlsCfg})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cells[i] = c
	}
	return cells
}

func repFactory(t testing.TB) rep.ClientFactory {
	t.Helper()
	b := testCerts(t)
	f, err := NewRepClientFactory(RepClientConfig{
		TLS:          rep.TLSConfig{RequireTLS: true, CaCertFile: b.CACert, CertFile: b.ClientCert, KeyFile: b.ClientKey},
		StateTimeout: 5 * time.Second, WorkTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// staticCells lists fixed presences (or fails with err).
type staticCells struct {
	mu    sync.Mutex
	cells []*models.CellPresence
	err   error
}

func (s *staticCells) Cells(context.Context) ([]*models.CellPresence, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cells, s.err
}

func (s *staticCells) setErr(err error) { s.mu.Lock(); s.err = err; s.mu.Unlock() }

func presencesOf(cells []*fakerep.Cell) *staticCells {
	s := &staticCells{}
	for _, c := range cells {
		s.cells = append(s.cells, c.Presence())
	}
	return s
}

// recordingBBS records the failures it is told about.
type recordingBBS struct {
	mu            sync.Mutex
	failedLRPs    map[string]string // "guid/index" -> reason
	rejectedTasks map[string]string
}

func newRecordingBBS() *recordingBBS {
	return &recordingBBS{failedLRPs: map[string]string{}, rejectedTasks: map[string]string{}}
}

func (b *recordingBBS) FailActualLRP(_ context.Context, key *models.ActualLRPKey, reason string) error {
	if key.Domain == "" {
		return errors.New("no domain")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failedLRPs[fmt.Sprintf("%s/%d", key.ProcessGuid, key.Index)] = reason
	return nil
}

func (b *recordingBBS) RejectTask(_ context.Context, guid, reason string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rejectedTasks[guid] = reason
	return nil
}

func (b *recordingBBS) snapshot() (lrps, tasks map[string]string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	lrps, tasks = map[string]string{}, map[string]string{}
	for k, v := range b.failedLRPs {
		lrps[k] = v
	}
	for k, v := range b.rejectedTasks {
		tasks[k] = v
	}
	return lrps, tasks
}

func newTestRunner(t testing.TB, cells CellLister, bbs BBS, mutate func(*RunnerConfig)) *Runner {
	t.Helper()
	cfg := RunnerConfig{Cells: cells, Reps: repFactory(t), BBS: bbs, Auction: auction.DefaultConfig(), BatchInterval: time.Millisecond, Logger: testLogger()}
	if mutate != nil {
		mutate(&cfg)
	}
	r, err := NewRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func lrpStart(guid string, memoryMB int32, indices ...int32) auctionapi.LRPStartRequest {
	return auctionapi.LRPStartRequest{
		ProcessGuid: guid, Domain: "cf-apps", Indices: indices,
		PlacementConstraint: rep.NewPlacementConstraint(fakerep.DefaultRootFS, nil, nil),
		Resource:            rep.NewResource(memoryMB, 1024, 1024),
	}
}

func taskStart(guid string, memoryMB int32) auctionapi.TaskStartRequest {
	return auctionapi.TaskStartRequest{Task: rep.NewTask(guid, "cf-tasks", rep.NewResource(memoryMB, 1024, 1024), rep.NewPlacementConstraint(fakerep.DefaultRootFS, nil, nil))}
}
