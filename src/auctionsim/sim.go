// Package auctionsim measures the auctioneer end to end: it runs the real auctioneer in-process behind its mutual-TLS API against simulated cells, submits start requests in batches through the BBS's auctioneer client, and reports placement quality and throughput.
package auctionsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/auction"
	"github.com/diego-go/diego/src/auctioneer"
	"github.com/diego-go/diego/src/auctioneer/fakerep"
	"github.com/diego-go/diego/src/bbs/auctioneerclient"
	"github.com/diego-go/diego/src/bbs/service"
	"github.com/diego-go/diego/src/pki"
)

// MemoryShare is one memory size in the mix of processes and its weight.
type MemoryShare struct {
	MemoryMB int32
	Weight   int
}

// ParseMemoryMix reads "256:3,512:4,1024:2" (MB:weight; ":weight" may be
// left out for 1).
func ParseMemoryMix(s string) ([]MemoryShare, error) {
	var mix []MemoryShare
	for _, part := range strings.Split(s, ",") {
		mb, w, found := strings.Cut(strings.TrimSpace(part), ":")
		m, err := strconv.ParseInt(mb, 10, 32)
		if err != nil || m <= 0 {
			return nil, fmt.Errorf("memory mix %q: %q is not a positive number of MB", s, mb)
		}
		weight := 1
		if found {
			if weight, err = strconv.Atoi(w); err != nil || weight <= 0 {
				return nil, fmt.Errorf("memory mix %q: weight %q is not a positive integer", s, w)
			}
		}
		mix = append(mix, MemoryShare{MemoryMB: int32(m), Weight: weight})
	}
	return mix, nil
}

// Config describes a simulation.
type Config struct {
	Cells, Zones         int
	Instances, Processes int
	// Batch is the number of instances per POST /v1/lrps; Concurrency the
	// POSTs in flight at once.
	Batch, Concurrency int
	MemoryMix          []MemoryShare
	// Every cell has this capacity; every instance needs InstanceDiskMB.
	CellMemoryMB, CellDiskMB int32
	CellContainers           int
	InstanceDiskMB           int32
	// StartingFor is how long a container counts as starting on its cell.
	StartingFor time.Duration
	// Enforce makes cells reject work that does not fit (as real reps do);
	// by default they take everything, so over-commitment shows.
	Enforce       bool
	Auction       auction.Config
	BatchInterval time.Duration
	Seed          uint64
	// Timeout bounds the wait for every instance to be placed or failed.
	Timeout time.Duration
	Logger  *slog.Logger
}

// DefaultConfig is the full-scale run: 1,000 cells in 3 zones, 100,000
// instances of 1,000 processes.
func DefaultConfig() Config {
	return Config{
		Cells: 1000, Zones: 3, Instances: 100000, Processes: 1000, Batch: 1000, Concurrency: 4,
		MemoryMix:    []MemoryShare{{256, 3}, {512, 4}, {1024, 2}, {2048, 1}},
		CellMemoryMB: 96 * 1024, CellDiskMB: 256 * 1024, CellContainers: 250, InstanceDiskMB: 1024,
		StartingFor: 5 * time.Second, Auction: auction.DefaultConfig(), BatchInterval: 100 * time.Millisecond,
		Seed: 1, Timeout: 5 * time.Minute,
	}
}

// Validate rejects a simulation that cannot run.
func (c *Config) Validate() error {
	switch {
	case c.Cells <= 0 || c.Zones <= 0 || c.Instances <= 0 || c.Processes <= 0 || c.Batch <= 0 || c.Concurrency <= 0:
		return errors.New("sim: cells, zones, instances, processes, batch and concurrency must be positive")
	case c.Processes > c.Instances:
		return errors.New("sim: more processes than instances")
	case len(c.MemoryMix) == 0:
		return errors.New("sim: empty memory mix")
	case c.CellMemoryMB <= 0 || c.CellDiskMB <= 0 || c.CellContainers <= 0 || c.InstanceDiskMB < 0:
		return errors.New("sim: cell capacity must be positive")
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// process is one simulated desired LRP.
type process struct {
	info      *models.DesiredLRPSchedulingInfo
	instances int
}

// world is a running simulation.
type world struct {
	cfg   Config
	cells []*fakerep.Cell
	bbs   *recordingBBS
	auc   *auctioneer.Auctioneer

	mu     sync.Mutex
	rounds []auctioneer.RoundReport // guarded by mu
	done   int                      // instances placed, failed or unknown; guarded by mu
	target int                      // done that completes the phase; guarded by mu
	lastAt time.Time                // end of the last round with placements; guarded by mu
	all    chan struct{}            // closed once done reaches target; guarded by mu
}

// Run runs one simulation and reports on it.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "auction-sim")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	certs, err := pki.GenerateLocal(filepath.Join(dir, "certs"), nil)
	if err != nil {
		return nil, err
	}
	w := &world{cfg: cfg, bbs: &recordingBBS{reasons: map[string]int{}}}
	defer w.close()
	if err := w.startCells(certs); err != nil {
		return nil, err
	}
	if err := w.startAuctioneer(ctx, certs); err != nil {
		return nil, err
	}
	client, err := w.client(certs)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	submitted, err := w.phase(ctx, processes(cfg, "process", cfg.Instances, cfg.Processes, cfg.Seed), cfg.Instances, client)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	end := w.lastAt
	rounds := append([]auctioneer.RoundReport(nil), w.rounds...)
	w.rounds = nil
	w.mu.Unlock()
	rep := w.report(start, end, submitted, rounds)

	// One more batch once every cell holds its share: a steady-state round
	// (warm connections, full cell states).
	probeProcs := max(1, cfg.Batch*cfg.Processes/cfg.Instances)
	if _, err := w.phase(ctx, processes(cfg, "probe", cfg.Batch, probeProcs, cfg.Seed+1), cfg.Batch, client); err != nil {
		return nil, err
	}
	w.mu.Lock()
	rep.Probe = append([]auctioneer.RoundReport(nil), w.rounds...)
	w.mu.Unlock()
	w.measureCells(rep)
	return rep, nil
}

// phase submits procs' instances and waits until n more are placed or failed.
func (w *world) phase(ctx context.Context, procs []process, n int, client *auctioneerclient.Client) (time.Duration, error) {
	w.mu.Lock()
	w.target, w.all = w.done+n, make(chan struct{})
	all := w.all
	w.mu.Unlock()
	start := time.Now()
	if err := w.submit(ctx, client, procs); err != nil {
		return 0, err
	}
	submitted := time.Since(start)
	select {
	case <-all:
		return submitted, nil
	case <-time.After(w.cfg.Timeout):
		return 0, fmt.Errorf("sim: not every instance placed or failed within %s", w.cfg.Timeout)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (w *world) close() {
	if w.auc != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		w.auc.Stop(ctx)
		cancel()
	}
	for _, c := range w.cells {
		c.Close()
	}
}

func (w *world) startCells(certs *pki.Bundle) error {
	tlsCfg, err := pki.ServerTLSConfig(certs.CACert, certs.ServerCert, certs.ServerKey)
	if err != nil {
		return err
	}
	for i := range w.cfg.Cells {
		c, err := fakerep.Start(fakerep.Config{
			CellID: fmt.Sprintf("cell-%04d", i), Zone: fmt.Sprintf("z%d", i%w.cfg.Zones+1), Index: i,
			Total:   rep.NewResources(w.cfg.CellMemoryMB, w.cfg.CellDiskMB, w.cfg.CellContainers),
			Enforce: w.cfg.Enforce, StartingFor: w.cfg.StartingFor, TLS: tlsCfg,
		})
		if err != nil {
			return err
		}
		w.cells = append(w.cells, c)
	}
	return nil
}

func (w *world) startAuctioneer(ctx context.Context, certs *pki.Bundle) error {
	presences := make([]*models.CellPresence, len(w.cells))
	for i, c := range w.cells {
		presences[i] = c.Presence()
	}
	lk, err := newMemLocket(presences)
	if err != nil {
		return err
	}
	serverTLS, err := pki.ServerTLSConfig(certs.CACert, certs.ServerCert, certs.ServerKey)
	if err != nil {
		return err
	}
	reps, err := auctioneer.NewRepClientFactory(auctioneer.RepClientConfig{
		TLS: rep.TLSConfig{RequireTLS: true, CaCertFile: certs.CACert, CertFile: certs.ClientCert, KeyFile: certs.ClientKey},
	})
	if err != nil {
		return err
	}
	w.auc, err = auctioneer.Start(ctx, auctioneer.Config{
		Runner: auctioneer.RunnerConfig{Reps: reps, BBS: w.bbs, Auction: w.cfg.Auction, BatchInterval: w.cfg.BatchInterval,
			OnRound: w.onRound, Logger: w.cfg.Logger},
		ListenAddress: "127.0.0.1:0", TLS: serverTLS, Locket: lk, Logger: w.cfg.Logger,
	})
	if err != nil {
		return err
	}
	select {
	case <-w.auc.Leading():
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("sim: the auctioneer did not take its lock")
	}
}

func (w *world) onRound(rr auctioneer.RoundReport) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rounds = append(w.rounds, rr)
	before := w.done
	w.done += rr.LRPsPlaced + rr.LRPsFailed + rr.LRPsUnknown
	if rr.LRPsPlaced > 0 || w.lastAt.IsZero() {
		w.lastAt = rr.Start.Add(rr.Total)
	}
	if before < w.target && w.done >= w.target {
		close(w.all)
	}
}

func (w *world) client(certs *pki.Bundle) (*auctioneerclient.Client, error) {
	tlsCfg, err := pki.ClientTLSConfig(certs.CACert, certs.ClientCert, certs.ClientKey)
	if err != nil {
		return nil, err
	}
	return auctioneerclient.New(auctioneerclient.Config{Address: w.auc.Addr(), TLS: tlsCfg, Timeout: time.Minute, Logger: w.cfg.Logger})
}

// processes spreads the instances over the processes (as evenly as they
// divide) and gives each a memory size drawn from the mix.
func processes(cfg Config, prefix string, instances, count int, seed uint64) []process {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	total := 0
	for _, m := range cfg.MemoryMix {
		total += m.Weight
	}
	procs := make([]process, count)
	for i := range procs {
		pick := rng.IntN(total)
		mem := cfg.MemoryMix[len(cfg.MemoryMix)-1].MemoryMB
		for _, m := range cfg.MemoryMix {
			if pick < m.Weight {
				mem = m.MemoryMB
				break
			}
			pick -= m.Weight
		}
		guid := fmt.Sprintf("%s-%05d", prefix, i)
		n := instances / count
		if i < instances%count {
			n++
		}
		procs[i] = process{instances: n, info: &models.DesiredLRPSchedulingInfo{
			DesiredLRPKey:      models.NewDesiredLRPKey(guid, "cf-apps", guid),
			DesiredLRPResource: models.NewDesiredLRPResource(mem, cfg.InstanceDiskMB, 1024, fakerep.DefaultRootFS),
			Instances:          int32(n),
		}}
	}
	return procs
}

// submit sends every instance, Batch instances per POST, process after
// process (a process may straddle two POSTs), Concurrency POSTs at a time.
func (w *world) submit(ctx context.Context, client *auctioneerclient.Client, procs []process) error {
	var batches [][]service.LRPStartRequest
	var cur []service.LRPStartRequest
	n := 0
	for _, p := range procs {
		next := 0
		for next < p.instances {
			take := min(p.instances-next, w.cfg.Batch-n)
			idx := make([]int32, take)
			for k := range idx {
				idx[k] = int32(next + k)
			}
			cur = append(cur, service.LRPStartRequest{SchedulingInfo: p.info, Indices: idx})
			next += take
			if n += take; n == w.cfg.Batch {
				batches, cur, n = append(batches, cur), nil, 0
			}
		}
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	jobs := make(chan []service.LRPStartRequest)
	errs := make(chan error, w.cfg.Concurrency)
	var wg sync.WaitGroup
	for range w.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				if err := client.RequestLRPAuctions(ctx, b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
loop:
	for _, b := range batches {
		select {
		case jobs <- b:
		case err = <-errs:
			break loop
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err != nil {
		return fmt.Errorf("sim: submitting: %w", err)
	}
	return nil
}
