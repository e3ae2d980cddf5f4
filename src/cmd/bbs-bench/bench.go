package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
)

type bench struct {
	o   options
	c   bbs.InternalClient
	log lager.Logger
}

// Results are the figures a run produced.
type Results struct {
	Label              string     `json:"label"`
	Desired            int        `json:"desired_lrps"`
	Actual             int        `json:"actual_lrps"`
	DesirePerSec       float64    `json:"desire_lrps_per_sec"`
	ListSchedInfosSec  float64    `json:"list_scheduling_infos_sec"`
	ListDesiredSec     float64    `json:"list_desired_lrps_sec"`
	ListActualSec      float64    `json:"list_actual_lrps_sec"`
	ListBestSec        [3]float64 `json:"list_best_sec"` // scheduling infos, desired, actual: fastest repeat
	ClaimStartCalls    int        `json:"claim_start_calls"`
	ClaimStartPerSec   float64    `json:"claim_start_calls_per_sec"`
	CellQueryP50Ms     float64    `json:"one_cell_actual_lrps_p50_ms"`
	CellQueryP99Ms     float64    `json:"one_cell_actual_lrps_p99_ms"`
	CellQueryInstances int        `json:"one_cell_instances"`
	RSSPeakMB          float64    `json:"server_rss_peak_mb,omitempty"`
	RSSFinalMB         float64    `json:"server_rss_final_mb,omitempty"`
	Errors             int64      `json:"errors"`
}

func (b *bench) run(ctx context.Context, w io.Writer) (Results, error) {
	r := Results{Label: b.o.Label, Desired: b.o.Desired}
	var errs atomic.Int64
	fail := func(err error) {
		if errs.Add(1) <= 5 {
			fmt.Fprintln(w, "error:", err)
		}
	}

	var expectedActual atomic.Int64
	for i := 0; i < b.o.Desired; i++ {
		expectedActual.Add(int64(2 + i%2))
	}
	r.Actual = int(expectedActual.Load())
	if b.o.Phases["desire"] {
		if err := b.desire(w, &r, fail); err != nil {
			return r, err
		}
		if b.o.Settle > 0 {
			fmt.Fprintf(w, "settling for %v...\n", b.o.Settle)
			time.Sleep(b.o.Settle)
		}
	}
	if b.o.Phases["list"] {
		if err := b.lists(w, &r); err != nil {
			return r, err
		}
	}
	if b.o.Phases["claim"] {
		b.claimStart(w, &r, fail)
	}
	if b.o.Phases["cell"] {
		b.cellQueries(w, &r, fail)
	}
	r.Errors = errs.Load()
	if r.Errors > 0 {
		return r, fmt.Errorf("%d calls failed", r.Errors)
	}
	return r, nil
}

func (b *bench) desire(w io.Writer, r *Results, fail func(error)) error {
	fmt.Fprintf(w, "desiring %d LRPs with %d clients...\n", b.o.Desired, b.o.Concurrency)
	start := time.Now()
	b.parallel(b.o.Desired, func(i int) {
		inst := int32(2 + i%2)
		if err := b.c.DesireLRP(b.log, "", desired(i, inst)); err != nil {
			fail(fmt.Errorf("desire %d: %w", i, err))
			return
		}
		if (i+1)%(max(b.o.Desired/10, 1)) == 0 {
			fmt.Fprintf(w, "  %d desired (%.0f/s)\n", i+1, float64(i+1)/time.Since(start).Seconds())
		}
	})
	r.DesirePerSec = float64(b.o.Desired) / time.Since(start).Seconds()
	return nil
}

func (b *bench) lists(w io.Writer, r *Results) error {
	fmt.Fprintln(w, "listing...")
	var err error
	if r.ListSchedInfosSec, r.ListBestSec[0], err = b.timeList(func() (int, error) {
		l, err := b.c.DesiredLRPSchedulingInfos(b.log, "", models.DesiredLRPFilter{})
		return len(l), err
	}, b.o.Desired); err != nil {
		return err
	}
	if r.ListDesiredSec, r.ListBestSec[1], err = b.timeList(func() (int, error) {
		l, err := b.c.DesiredLRPs(b.log, "", models.DesiredLRPFilter{})
		return len(l), err
	}, b.o.Desired); err != nil {
		return err
	}
	if r.ListActualSec, r.ListBestSec[2], err = b.timeList(func() (int, error) {
		l, err := b.c.ActualLRPs(b.log, "", models.ActualLRPFilter{})
		return len(l), err
	}, r.Actual); err != nil {
		return err
	}
	return nil
}

func (b *bench) claimStart(w io.Writer, r *Results, fail func(error)) {
	n := min(b.o.ClaimStarts, r.Actual)
	fmt.Fprintf(w, "claim+start of %d instances with %d clients...\n", n, b.o.Concurrency)
	targets := b.pickInstances(n)
	start := time.Now()
	b.parallel(len(targets), func(i int) {
		key := targets[i]
		cell := fmt.Sprintf("cell-%d", i%b.o.Cells)
		ik := models.NewActualLRPInstanceKey(fmt.Sprintf("ig-%s-%d", key.ProcessGuid, key.Index), cell)
		if err := b.c.ClaimActualLRP(b.log, "", &key, &ik); err != nil {
			fail(fmt.Errorf("claim: %w", err))
			return
		}
		net := models.NewActualLRPNetInfo("10.0.0.1", "10.1.0.1", models.ActualLRPNetInfo_PreferredAddressHost,
			models.NewPortMapping(uint32(60000+i%5000), 8080))
		if err := b.c.StartActualLRP(b.log, "", &key, &ik, &net, nil, nil, true, "z1"); err != nil {
			fail(fmt.Errorf("start: %w", err))
		}
	})
	r.ClaimStartCalls = 2 * len(targets)
	r.ClaimStartPerSec = float64(r.ClaimStartCalls) / time.Since(start).Seconds()
}

func (b *bench) cellQueries(w io.Writer, r *Results, fail func(error)) {
	fmt.Fprintf(w, "querying one cell's instances %d times...\n", b.o.CellQueries)
	for i := 0; i < 5; i++ { // warm the connection; not timed
		_, _ = b.c.ActualLRPs(b.log, "", models.ActualLRPFilter{CellID: "cell-0"})
	}
	lat := make([]time.Duration, 0, b.o.CellQueries)
	for i := 0; i < b.o.CellQueries; i++ {
		cell := fmt.Sprintf("cell-%d", i%b.o.Cells)
		t0 := time.Now()
		l, err := b.c.ActualLRPs(b.log, "", models.ActualLRPFilter{CellID: cell})
		lat = append(lat, time.Since(t0))
		if err != nil {
			fail(fmt.Errorf("cell query: %w", err))
		}
		r.CellQueryInstances = len(l)
	}
	slices.Sort(lat)
	r.CellQueryP50Ms = ms(lat[len(lat)/2])
	r.CellQueryP99Ms = ms(lat[len(lat)*99/100])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// timeList runs a full list ListRepeats times, checks its length, and returns
// the median and fastest durations in seconds.
func (b *bench) timeList(list func() (int, error), want int) (median, best float64, err error) {
	var ds []time.Duration
	for i := 0; i < max(b.o.ListRepeats, 1); i++ {
		t0 := time.Now()
		n, err := list()
		ds = append(ds, time.Since(t0))
		if err != nil {
			return 0, 0, err
		}
		if n < want {
			return 0, 0, fmt.Errorf("list returned %d items, want at least %d", n, want)
		}
	}
	slices.Sort(ds)
	return ds[len(ds)/2].Seconds(), ds[0].Seconds(), nil
}

// pickInstances chooses n distinct (guid, index) pairs, shuffled.
func (b *bench) pickInstances(n int) []models.ActualLRPKey {
	all := make([]models.ActualLRPKey, 0, b.o.Desired*5/2)
	for i := 0; i < b.o.Desired; i++ {
		for j := int32(0); j < int32(2+i%2); j++ {
			all = append(all, models.NewActualLRPKey(guid(i), j, "bench"))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all[:min(n, len(all))]
}

// parallel runs fn(0..n-1) on Concurrency workers.
func (b *bench) parallel(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < b.o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func guid(i int) string { return fmt.Sprintf("bench-%08d", i) }

// desired is a realistic app: env, a run action with args, a monitor, routes.
func desired(i int, instances int32) *models.DesiredLRP {
	raw := json.RawMessage(fmt.Sprintf(`[{"hostnames":["app-%d.apps.example.com"],"port":8080}]`, i))
	routes := models.Routes{"cf-router": &raw}
	return &models.DesiredLRP{
		ProcessGuid: guid(i), Domain: "bench", RootFs: "preloaded:cflinuxfs4", Instances: instances,
		MemoryMb: 256, DiskMb: 1024, LogGuid: guid(i), MetricsGuid: guid(i), Ports: []uint32{8080},
		EnvironmentVariables: []*models.EnvironmentVariable{
			{Name: "VCAP_APPLICATION", Value: fmt.Sprintf(`{"application_id":"%s","name":"app-%d","space_name":"prod"}`, guid(i), i)},
			{Name: "MEMORY_LIMIT", Value: "256m"},
		},
		Setup:   models.WrapAction(&models.DownloadAction{From: "http://blobstore/droplet/" + guid(i), To: ".", User: "vcap"}),
		Action:  models.WrapAction(&models.RunAction{Path: "/tmp/lifecycle/launcher", Args: []string{"app", "bundle exec rackup", ""}, User: "vcap"}),
		Monitor: models.WrapAction(&models.RunAction{Path: "/tmp/lifecycle/healthcheck", Args: []string{"-port=8080"}, User: "vcap"}),
		Routes:  &routes,
		MetricTags: map[string]*models.MetricTagValue{
			"source_id": {Static: guid(i)}, "instance_id": {Dynamic: models.MetricTagDynamicValueIndex},
		},
	}
}
