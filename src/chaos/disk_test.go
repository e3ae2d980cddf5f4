//go:build chaos

package chaos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
)

// diskCell is a cell whose directory is a small tmpfs of its own.
type diskCell struct {
	id, dir string
}

// smallDisk mounts a 64 MiB tmpfs on the directory diego up gives cell
// (under dir), before the cluster starts; it is unmounted when the test
// ends (after the cluster stopped). It needs root, and fails without it.
func smallDisk(t *testing.T, dir, cell string) diskCell {
	d := filepath.Join(dir, "cells", cell)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", d, "tmpfs", 0, "size=64m,mode=0755"); err != nil {
		t.Fatalf("mounting a tmpfs on %s for the disk-full scenario (needs root): %v", d, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(d, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", d, err)
		}
	})
	return diskCell{id: cell, dir: d}
}

// fill writes a file until the filesystem is full.
func (d diskCell) fill() error {
	f, err := os.Create(filepath.Join(d.dir, "fill"))
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return err
		}
	}
}

func (d diskCell) free() error { return os.Remove(filepath.Join(d.dir, "fill")) }

// diskFull fills a cell's filesystem, desires instances, and checks that
// the cell's failures are reported clearly (ENOSPC in its log, the
// instances placed on the other cells), then frees the disk and checks the
// cell takes instances again.
func diskFull(t *testing.T, c *Cluster, d diskCell) {
	load := c.StartLoad(t, "disk", "app")
	time.Sleep(3 * time.Second)
	component := "rep-" + d.id
	enospc := c.LogCount(component, "no space left on device")
	if err := d.fill(); err != nil {
		t.Fatalf("filling %s: %v", d.dir, err)
	}
	f := Fault{Start: time.Now()}
	if err := c.BBS.DesireLRP(lg, "", App("disk-app", 6, 0)); err != nil {
		t.Fatal(err)
	}
	var running time.Duration
	testutil.Eventually(t, 3*time.Minute, "disk-app's 6 instances RUNNING while "+d.id+"'s disk is full", func() (bool, string) {
		n := len(c.Instances(t, "disk-app"))
		running = time.Since(f.Start)
		return n == 6, fmt.Sprintf("%d of 6", n)
	})
	onFull := onCell(c, "disk-app", d.id)
	errs := c.LogCount(component, "no space left on device") - enospc
	if errs == 0 {
		t.Errorf("%s's log does not say \"no space left on device\" while its disk is full", component)
	}
	for _, l := range logLines(c, component, "no space left on device", 2) {
		t.Logf("%s: %s", component, l)
	}
	if err := d.free(); err != nil {
		t.Fatal(err)
	}
	f.End = time.Now()
	// Freed: the cell takes instances again.
	if err := c.BBS.DesireLRP(lg, "", App("disk-app-2", 6, 0)); err != nil {
		t.Fatal(err)
	}
	var back time.Duration
	testutil.Eventually(t, 3*time.Minute, d.id+" to run instances again once its disk was freed", func() (bool, string) {
		back = time.Since(f.End)
		n := onCell(c, "disk-app-2", d.id) + onCell(c, "disk-app", d.id)
		return n > 0 && len(c.Instances(t, "disk-app-2")) == 6, fmt.Sprintf("%d instances RUNNING on %s", n, d.id)
	})
	c.Finish(t, "disk full on a cell", load, f, 2*time.Minute, map[string]string{
		"6 instances RUNNING (disk full) after": fmtDur(running),
		"instances RUNNING on the full cell":    fmt.Sprint(onFull),
		"ENOSPC lines in the cell's log":        fmt.Sprint(errs),
		"cell running again after freeing":      fmtDur(back),
	})
	for _, g := range []string{"disk-app", "disk-app-2"} {
		if err := c.BBS.RemoveDesiredLRP(lg, "", g); err != nil {
			t.Errorf("removing %s: %v", g, err)
		}
	}
}

// onCell counts app's RUNNING instances on cell.
func onCell(c *Cluster, app, cell string) int {
	lrps, err := c.BBS.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: app, CellID: cell})
	if err != nil {
		return 0
	}
	n := 0
	for _, l := range lrps {
		if l.State == models.ActualLRPStateRunning {
			n++
		}
	}
	return n
}
