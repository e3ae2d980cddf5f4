// Package fakerep runs simulated cells: real mutual-TLS HTTP servers that answer the rep routes the auctioneer uses (GET /state, POST /work) and keep the resources of the work they take.
package fakerep

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"
)

// DefaultRootFS is the rootfs every simulated cell offers.
const DefaultRootFS = "preloaded:cflinuxfs4"

// Config describes one simulated cell.
type Config struct {
	CellID string
	Zone   string
	// Index is reported as the cell index (bin-pack first fit uses it).
	Index int
	Total rep.Resources
	// Stacks are the preloaded rootfs names (default: cflinuxfs4); any
	// docker:// rootfs is also accepted.
	Stacks                              []string
	PlacementTags, OptionalPlacementTag []string
	VolumeDrivers                       []string
	// Enforce makes the cell reject work that does not fit, as a real rep
	// does. Without it the cell takes everything, so over-commitment by the
	// auctioneer shows up in Usage.
	Enforce bool
	// StartingFor is how long a taken container counts as starting (0:
	// running at once).
	StartingFor time.Duration
	// TLS is the server's mutual-TLS configuration; nil serves plain HTTP.
	TLS *tls.Config
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Cell is a running simulated cell. Its methods are safe for concurrent use.
type Cell struct {
	cfg Config
	srv *http.Server
	ln  net.Listener
	url string

	mu         sync.Mutex
	lrps       []rep.LRP     // guarded by mu
	tasks      []rep.Task    // guarded by mu
	startedAt  []time.Time   // per container (LRPs then tasks in arrival order); guarded by mu
	used       rep.Resources // guarded by mu
	rejectWork bool          // guarded by mu
	failState  bool          // guarded by mu
	evacuating bool          // guarded by mu
	states     int           // guarded by mu
	works      int           // guarded by mu
	lastTaken  time.Time     // guarded by mu
	conns      int           // guarded by mu
	// The last encoded state, reused while nothing changed (so a large
	// simulation spends its CPU in the auctioneer, not in the cells).
	version      int    // bumped on every change; guarded by mu
	cachedJSON   []byte // guarded by mu
	cachedVer    int    // guarded by mu
	cachedStarts int    // guarded by mu
}

// Start serves a cell on a loopback port until Close.
func Start(cfg Config) (*Cell, error) {
	if cfg.CellID == "" {
		return nil, errors.New("fakerep: empty cell id")
	}
	if len(cfg.Stacks) == 0 {
		cfg.Stacks = []string{"cflinuxfs4"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakerep: listen: %w", err)
	}
	c := &Cell{cfg: cfg, ln: ln}
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	c.url = fmt.Sprintf("%s://%s", scheme, ln.Addr().String())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /state", c.serveState)
	mux.HandleFunc("POST /work", c.serveWork)
	var tlsCfg *tls.Config
	if cfg.TLS != nil {
		tlsCfg = cfg.TLS.Clone() // a server adds its protocols to its config
	}
	c.srv = &http.Server{Handler: mux, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				c.mu.Lock()
				c.conns++
				c.mu.Unlock()
			}
		}}
	go func() {
		if cfg.TLS != nil {
			_ = c.srv.ServeTLS(ln, "", "")
		} else {
			_ = c.srv.Serve(ln)
		}
	}()
	return c, nil
}

// Close stops the server at once, closing every connection.
func (c *Cell) Close() error { return c.srv.Close() }

// URL is the cell's rep_url.
func (c *Cell) URL() string { return c.url }

// ID is the cell id.
func (c *Cell) ID() string { return c.cfg.CellID }

// Zone is the cell's zone.
func (c *Cell) Zone() string { return c.cfg.Zone }

// Total is the cell's capacity.
func (c *Cell) Total() rep.Resources { return c.cfg.Total }

// Presence is the cell's presence as a rep announces it in Locket.
func (c *Cell) Presence() *models.CellPresence {
	providers := []*models.Provider{{Name: "preloaded", Properties: c.cfg.Stacks}, {Name: "docker"}}
	return &models.CellPresence{
		CellId: c.cfg.CellID, RepAddress: c.url, RepUrl: c.url, Zone: c.cfg.Zone,
		Capacity:        &models.CellCapacity{MemoryMb: c.cfg.Total.MemoryMB, DiskMb: c.cfg.Total.DiskMB, Containers: int32(c.cfg.Total.Containers)},
		RootfsProviders: providers, PlacementTags: c.cfg.PlacementTags, OptionalPlacementTags: c.cfg.OptionalPlacementTag,
	}
}

// SetRejectWork makes the cell reject (true) or take (false) all work.
func (c *Cell) SetRejectWork(v bool) { c.mu.Lock(); c.rejectWork = v; c.mu.Unlock() }

// SetFailState makes GET /state answer 500 (true) or the state (false).
func (c *Cell) SetFailState(v bool) { c.mu.Lock(); c.failState = v; c.mu.Unlock() }

// SetEvacuating marks the cell evacuating in its state.
func (c *Cell) SetEvacuating(v bool) { c.mu.Lock(); c.evacuating = v; c.version++; c.mu.Unlock() }

// Usage is what the cell's containers use (it may exceed Total when the
// cell does not enforce capacity).
func (c *Cell) Usage() rep.Resources {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// LRPs returns a copy of the LRP instances the cell took.
func (c *Cell) LRPs() []rep.LRP {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]rep.LRP(nil), c.lrps...)
}

// Tasks returns a copy of the tasks the cell took.
func (c *Cell) Tasks() []rep.Task {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]rep.Task(nil), c.tasks...)
}

// Requests counts the state and work requests served and the connections
// accepted.
func (c *Cell) Requests() (states, works, conns int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.states, c.works, c.conns
}

// LastTaken is when the cell last took work (zero: never).
func (c *Cell) LastTaken() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastTaken
}

// OverCapacity reports whether the containers use more than the cell has.
func (c *Cell) OverCapacity() bool {
	u, t := c.Usage(), c.cfg.Total
	return u.MemoryMB > t.MemoryMB || u.DiskMB > t.DiskMB || u.Containers > t.Containers
}

// State is the cell's state as GET /state returns it.
func (c *Cell) State() rep.CellState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stateLocked()
}

// startingLocked counts the containers still starting.
func (c *Cell) startingLocked() int {
	now := c.cfg.Now()
	starting := 0
	for _, at := range c.startedAt {
		if now.Sub(at) < c.cfg.StartingFor {
			starting++
		}
	}
	return starting
}

func (c *Cell) stateLocked() rep.CellState {
	starting := c.startingLocked()
	avail := c.cfg.Total
	avail.MemoryMB -= c.used.MemoryMB
	avail.DiskMB -= c.used.DiskMB
	avail.Containers -= c.used.Containers
	return rep.CellState{
		RepURL: c.url, CellID: c.cfg.CellID, CellIndex: c.cfg.Index,
		RootFSProviders: rep.RootFSProviders{
			models.PreloadedRootFSScheme: rep.NewFixedSetRootFSProvider(c.cfg.Stacks...),
			"docker":                     rep.ArbitraryRootFSProvider{},
		},
		AvailableResources: avail, TotalResources: c.cfg.Total,
		LRPs: append([]rep.LRP{}, c.lrps...), Tasks: append([]rep.Task{}, c.tasks...),
		StartingContainerCount: starting, Zone: c.cfg.Zone, Evacuating: c.evacuating,
		VolumeDrivers: c.cfg.VolumeDrivers, PlacementTags: c.cfg.PlacementTags, OptionalPlacementTags: c.cfg.OptionalPlacementTag,
	}
}

func (c *Cell) serveState(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	c.states++
	if c.failState {
		c.mu.Unlock()
		http.Error(w, "simulated state failure", http.StatusInternalServerError)
		return
	}
	body, starting := c.cachedJSON, c.startingLocked()
	if body == nil || c.cachedVer != c.version || c.cachedStarts != starting {
		st := c.stateLocked()
		var err error
		if body, err = json.Marshal(st); err != nil {
			c.mu.Unlock()
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		c.cachedJSON, c.cachedVer, c.cachedStarts = body, c.version, st.StartingContainerCount
	}
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// serveWork takes what fits (everything unless Enforce) and answers 200
// with the work it did not take, as the rep does.
func (c *Cell) serveWork(w http.ResponseWriter, r *http.Request) {
	var work rep.Work
	if err := json.NewDecoder(r.Body).Decode(&work); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var failed rep.Work
	c.mu.Lock()
	c.works++
	now := c.cfg.Now()
	wrongCell := work.CellID != "" && work.CellID != c.cfg.CellID
	take := func(res rep.Resource) bool {
		if c.rejectWork || wrongCell || c.evacuating {
			return false
		}
		if c.cfg.Enforce {
			if c.used.MemoryMB+res.MemoryMB > c.cfg.Total.MemoryMB || c.used.DiskMB+res.DiskMB > c.cfg.Total.DiskMB ||
				c.used.Containers+1 > c.cfg.Total.Containers {
				return false
			}
		}
		c.used.MemoryMB += res.MemoryMB
		c.used.DiskMB += res.DiskMB
		c.used.Containers++
		c.startedAt = append(c.startedAt, now)
		c.lastTaken = now
		return true
	}
	for _, l := range work.LRPs {
		if take(l.Resource) {
			c.lrps = append(c.lrps, l)
		} else {
			failed.LRPs = append(failed.LRPs, l)
		}
	}
	for _, t := range work.Tasks {
		if take(t.Resource) {
			c.tasks = append(c.tasks, t)
		} else {
			failed.Tasks = append(failed.Tasks, t)
		}
	}
	c.version++
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(failed)
}
