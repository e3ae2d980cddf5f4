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

// diskCell is a cell whose data directories (its containers' homes and
// its instance identity credentials) are small tmpfs mounts of their own.
type diskCell struct {
	id   string
	dirs []string
}

// smallDisk mounts an 8 MiB tmpfs on each of the data directories diego up
// gave cell (under dir), once its rep runs (the rep sizes its disk
// capacity from the filesystem at start: a small one would leave it no
// capacity); they are unmounted (lazily) when the test ends. It needs root,
// and fails without it.
func smallDisk(t *testing.T, dir, cell string) diskCell {
	d := diskCell{id: cell}
	for _, sub := range []string{"containers", "instance-identity"} {
		p := filepath.Join(dir, "cells", cell, sub)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("tmpfs", p, "tmpfs", 0, "size=8m,mode=0755"); err != nil {
			t.Fatalf("mounting a tmpfs on %s for the disk-full scenario (needs root): %v", p, err)
		}
		t.Cleanup(func() {
			if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil {
				t.Errorf("unmounting %s: %v", p, err)
			}
		})
		d.dirs = append(d.dirs, p)
	}
	return d
}

// fill writes a file in each directory until its filesystem is full.
func (d diskCell) fill() error {
	for _, dir := range d.dirs {
		if err := fillDir(dir); err != nil {
			return err
		}
	}
	return nil
}

func fillDir(dir string) error {
	f, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return err
		}
	}
}

func (d diskCell) free() error {
	for _, dir := range d.dirs {
		if err := os.Remove(filepath.Join(dir, "fill")); err != nil {
			return err
		}
	}
	return nil
}

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
		t.Fatalf("filling %v: %v", d.dirs, err)
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
