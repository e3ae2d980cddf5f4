package daemon

import (
	"testing"

	"code.cloudfoundry.org/bbs/models"
)

// TestLRPAssetsOnRunc: on runc, two instances placed at once get the
// lifecycle (a cached dependency whose launcher starts the app) and their
// image layers inside their root filesystems, each artifact downloaded
// once for the cell, and become RUNNING through their tcp check.
func TestLRPAssetsOnRunc(t *testing.T) {
	f := runcCell(t, 10, false)
	a := newAppAssets(t, "#!/bin/sh\nexec /usr/local/bin/tcpserver\n")
	f.runAssetApps(t, a, 2, "pg-runc-assets", func(pg string, _ ...string) *models.DesiredLRP {
		d := runcDesired(pg)
		d.CachedDependencies = []*models.CachedDependency{a.lifecycle}
		d.ImageLayers = a.layers
		d.LegacyDownloadUser = "vcap"
		d.Action = models.WrapAction(&models.RunAction{Path: "/tmp/lifecycle/launcher", User: "vcap"})
		return d
	})
}
