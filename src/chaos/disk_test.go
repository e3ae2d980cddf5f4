//go:build chaos

package chaos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// diskFull fills a cell's data filesystems and desires instances: the
// instances placed there must crash with a reason naming the full disk (a
// clear error, in the BBS and in the cell's log) while the others run.
// Then the disk is freed: every instance RUNNING, the cell taking
// instances again.
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
	var reported time.Duration
	testutil.Eventually(t, 2*time.Minute, "an instance on the full "+d.id+" crashed with a reason naming the full disk, the others RUNNING", func() (bool, string) {
		reported = time.Since(f.Start)
		full, running := diskCrashes(c, "disk-app")
		return full > 0 && full+running == 6, fmt.Sprintf("%d crashed for the disk, %d RUNNING: %s", full, running, describeLRPs(c, "disk-app"))
	})
	// A few more seconds full: where do the crashed instances go next?
	time.Sleep(10 * time.Second)
	full, _ := diskCrashes(c, "disk-app")
	maxCrashes, elsewhere := crashStats(c, "disk-app", d.id)
	errs := c.LogCount(component, "no space left on device") - enospc
	if errs == 0 {
		t.Errorf("%s's log does not say \"no space left on device\" while its disk is full", component)
	}
	if err := d.free(); err != nil {
		t.Fatal(err)
	}
	f.End = time.Now()
	// Freed: every instance RUNNING, the cell taking instances again.
	if err := c.BBS.DesireLRP(lg, "", App("disk-app-2", 3, 0)); err != nil {
		t.Fatal(err)
	}
	var back time.Duration
	testutil.Eventually(t, 3*time.Minute, "every instance RUNNING and "+d.id+" running instances again once its disk was freed", func() (bool, string) {
		back = time.Since(f.End)
		n := onCell(c, "disk-app-2", d.id) + onCell(c, "disk-app", d.id)
		a, b := len(c.Instances(t, "disk-app")), len(c.Instances(t, "disk-app-2"))
		return n > 0 && a == 6 && b == 3, fmt.Sprintf("%d instances RUNNING on %s; disk-app %d of 6 (%s), disk-app-2 %d of 3", n, d.id, a, describeLRPs(c, "disk-app"), b)
	})
	c.Finish(t, "disk full on a cell", load, f, 2*time.Minute, map[string]string{
		"instance crashes reported (ENOSPC) after":    fmtDur(reported),
		"instances CRASHED for the full disk":         fmt.Sprint(full),
		"their highest crash count while full":        fmt.Sprint(maxCrashes),
		"crashed instances RUNNING elsewhere":         fmt.Sprint(elsewhere),
		"ENOSPC lines in the cell's log":              fmt.Sprint(errs),
		"all RUNNING, cell used again, after freeing": fmtDur(back),
	})
	for _, g := range []string{"disk-app", "disk-app-2"} {
		if err := c.BBS.RemoveDesiredLRP(lg, "", g); err != nil {
			t.Errorf("removing %s: %v", g, err)
		}
	}
}

// diskCrashes counts app's instances whose last crash names a full disk,
// and its RUNNING ones.
func diskCrashes(c *Cluster, app string) (full, running int) {
	lrps, err := c.BBS.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: app})
	if err != nil {
		return 0, 0
	}
	for _, l := range lrps {
		switch {
		case l.State == models.ActualLRPStateRunning:
			running++
		case strings.Contains(l.CrashReason, "no space left on device"):
			full++
		}
	}
	return full, running
}

// crashStats returns the highest crash count of app's instances and how
// many of those that crashed run on a cell other than cell.
func crashStats(c *Cluster, app, cell string) (maxCrashes int32, elsewhere int) {
	lrps, err := c.BBS.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: app})
	if err != nil {
		return 0, 0
	}
	for _, l := range lrps {
		maxCrashes = max(maxCrashes, l.CrashCount)
		if l.CrashCount > 0 && l.State == models.ActualLRPStateRunning && l.CellId != cell {
			elsewhere++
		}
	}
	return maxCrashes, elsewhere
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

// describeLRPs lists app's instances: index, state, cell, crash count and
// reason, placement error.
func describeLRPs(c *Cluster, app string) string {
	lrps, err := c.BBS.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: app})
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, l := range lrps {
		out = append(out, fmt.Sprintf("%d:%s@%s crashes=%d %q %q", l.Index, l.State, l.CellId, l.CrashCount, l.CrashReason, l.PlacementError))
	}
	return strings.Join(out, "; ")
}
