package daemon

import (
	"fmt"
	"testing"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/rep/reptest"
)

// TestLRPAssetsOnRunc: on runc, two instances placed at once get the
// lifecycle (a cached dependency whose launcher starts the app) and their
// image layers inside their root filesystems, each artifact downloaded
// once for the cell, and become RUNNING through their tcp check.
func TestLRPAssetsOnRunc(t *testing.T) {
	f := runcCell(t, 10, false)
	a := newAppAssets(t, "#!/bin/sh\nexec /usr/local/bin/tcpserver\n")
	var work rep.Work
	for i := range 2 {
		pg := fmt.Sprintf("pg-runc-assets-%d", i)
		d := runcDesired(pg)
		d.CachedDependencies = []*models.CachedDependency{a.lifecycle}
		d.ImageLayers = a.layers
		d.LegacyDownloadUser = "vcap"
		d.Action = models.WrapAction(&models.RunAction{Path: "/tmp/lifecycle/launcher", User: "vcap"})
		work.LRPs = append(work.LRPs, reptest.LRP("ig-"+pg, f.h.Desire(t, d), d))
	}
	if rejected, err := f.rc.Perform(f.h.Log, work); err != nil || len(rejected.LRPs) != 0 {
		t.Fatalf("perform: rejected %+v, %v", rejected, err)
	}
	for i := range 2 {
		pg := fmt.Sprintf("pg-runc-assets-%d", i)
		f.waitRunning(t, pg, "ig-"+pg)
		for path, want := range map[string]string{"/etc/shared.conf": "shared layer", "/app/exclusive.txt": "exclusive layer"} {
			if got := f.containerFile(t, "ig-"+pg, path); got != want {
				t.Errorf("%s: %s = %q, want %q", pg, path, got, want)
			}
		}
	}
	for _, p := range []string{"/lifecycle.tgz", "/shared.tar", "/exclusive.zip"} {
		if n := a.srv.fullGets(p); n != 1 {
			t.Errorf("%s downloaded %d times for 2 instances, want once", p, n)
		}
	}
}
