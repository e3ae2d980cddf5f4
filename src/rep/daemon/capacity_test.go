package daemon

import (
	"context"
	"errors"
	"testing"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/process"
	"github.com/diego-go/diego/src/rep/container/runc"
)

// TestAutoDiskCapacity: with disk_mb automatic the cell offers what the
// backend measures less the download cache's bound, as the reference
// executor's "auto" does; an operator's disk_mb is offered as it is.
func TestAutoDiskCapacity(t *testing.T) {
	h := newBBS(t)
	for _, tc := range []struct {
		cell   string
		diskMB int64
		want   int32
	}{{"cell-auto-disk", 0, 1024 - 100}, {"cell-fixed-disk", 1024, 1024}} {
		f := addCell(t, h, tc.cell, func(c *Settings, o *Options) {
			c.DiskMB, c.MaxCacheSizeInBytes = tc.diskMB, 100<<20
			b, err := process.New(process.Config{RootDir: c.ContainerRootDir,
				Settings: host.Settings{MemoryMB: 1024, MaxContainers: 10}})
			if err != nil {
				t.Fatal(err)
			}
			o.Backend = fixedCapacity{Backend: b, c: container.Capacity{MemoryMB: 1024, DiskMB: 1024, MaxContainers: 10}}
		})
		state, err := f.rc.State(f.h.Log)
		if err != nil {
			t.Fatal(err)
		}
		if state.TotalResources.DiskMB != tc.want {
			t.Errorf("%s: rep state total disk %d MB, want %d", tc.cell, state.TotalResources.DiskMB, tc.want)
		}
		listed := h.WaitListed(t, tc.cell, f.d.RepURL(), waitFor)
		if listed.Capacity.DiskMb != tc.want {
			t.Errorf("%s: presence disk %d MB, want %d", tc.cell, listed.Capacity.DiskMb, tc.want)
		}
	}
}

// TestAutoDiskCapacityExhausted: a cache bound at least the measured disk
// is the reference's error at start-up.
func TestAutoDiskCapacityExhausted(t *testing.T) {
	h := newBBS(t)
	cfg := Joining("cell-no-disk", "z1", h.URL, h.Daemon.LocketAddr(), h.Certs)
	cfg.ListenAddress, cfg.LocalAddress = "127.0.0.1:0", "127.0.0.1:0"
	cfg.ContainerRootDir = t.TempDir()
	cfg.MaxCacheSizeInBytes = 1024 << 20
	b, err := process.New(process.Config{RootDir: cfg.ContainerRootDir, Settings: host.Settings{MemoryMB: 1024, MaxContainers: 10}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Start(context.Background(), cfg, Options{Backend: fixedCapacity{Backend: b,
		c: container.Capacity{MemoryMB: 1024, DiskMB: 1024, MaxContainers: 10}}})
	if err == nil {
		_ = d.Stop(context.Background())
		t.Fatal("started with no disk left")
	}
	if !errors.Is(err, errAutoDiskCapacity) {
		t.Errorf("error %v, want %v", err, errAutoDiskCapacity)
	}
}

// TestSettingsDiskFromSection: a backend section's disk_mb makes the
// cell's disk non-automatic.
func TestSettingsDiskFromSection(t *testing.T) {
	for _, c := range []Config{
		{Backend: BackendRunc, Runc: &runc.Config{Settings: host.Settings{DiskMB: 2048}}},
		{Backend: BackendProcess, Process: &process.Config{Settings: host.Settings{DiskMB: 2048}}},
	} {
		if got := c.settings().DiskMB; got != 2048 {
			t.Errorf("%s: disk_mb %d, want the section's 2048", c.Backend, got)
		}
	}
	if got := (Config{Backend: BackendRunc, Settings: Settings{DiskMB: 10}, Runc: &runc.Config{Settings: host.Settings{DiskMB: 2048}}}).settings().DiskMB; got != 10 {
		t.Errorf("top-level disk_mb %d, want 10", got)
	}
}
