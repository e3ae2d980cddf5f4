package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
)

// TestLRPAssetsOnRunc: on runc, two instances placed at once get the
// lifecycle (a cached dependency whose launcher starts the app, extracted
// once and bind-mounted) and their image layers inside their root
// filesystems, each artifact downloaded once for the cell, and become
// RUNNING through their tcp check.
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

// TestCachedDependencyOnRunc: a cached dependency is bind-mounted
// read-only (even root cannot write under its `to`) and, as in the
// reference, does not count against the container's disk quota: a task
// with disk_mb 10 uses a 15 MB dependency and can still write its own
// files.
func TestCachedDependencyOnRunc(t *testing.T) {
	f := runcCell(t, 2, false)
	const big = 15 << 20
	srv := newAssetServer(t, map[string][]byte{
		"/dep.tgz": testutil.Tgz(t, map[string]testutil.File{"big": {Body: strings.Repeat("x", big)}, "bin/tool": {Body: "#!/bin/sh\necho tool\n", Mode: 0o755}}),
	})
	def := taskDef(`set -e
test "$(wc -c < /tmp/dep/big)" -eq 15728640
test "$(/tmp/dep/bin/tool)" = tool
if touch /tmp/dep/new 2>/tmp/err; then echo "/tmp/dep is writable"; exit 1; fi
grep -q 'Read-only file system' /tmp/err
head -c 4194304 /dev/zero > /tmp/own
echo ok > /result`, "/result")
	def.DiskMb = 10
	def.Action.RunAction.User = "root"
	def.CachedDependencies = []*models.CachedDependency{{Name: "big dependency", From: srv.URL + "/dep.tgz", To: "/tmp/dep", CacheKey: "big-dep"}}
	f.placeTask(t, "task-runc-dep", def)
	task := f.waitTask(t, "task-runc-dep", models.Task_Completed)
	if task.Failed || task.Result != "ok\n" {
		t.Fatalf("task: failed %v (%s), result %q", task.Failed, task.FailureReason, task.Result)
	}
	f.wantOneExtraction(t, 1)
	f.waitTaskGone(t, "task-runc-dep")
	// Destroying the container left the cell's extracted copy whole.
	kept, _ := filepath.Glob(filepath.Join(f.d.cfg.CachePath, "extracted", "*", "big"))
	if len(kept) != 1 {
		t.Fatalf("extracted dependency after the container was destroyed: %v", kept)
	}
	if fi, err := os.Stat(kept[0]); err != nil || fi.Size() != big {
		t.Fatalf("extracted dependency after the container was destroyed: %v %v", fi, err)
	}
}

// TestDownloadIntoMountOnRunc: on runc a download action aimed inside a
// read-only cached dependency fails as on garden (read-only file system),
// not written underneath the mount where the task would never see it.
func TestDownloadIntoMountOnRunc(t *testing.T) {
	f := runcCell(t, 2, false)
	srv := newAssetServer(t, map[string][]byte{
		"/dep.tgz": testutil.Tgz(t, map[string]testutil.File{"tool": {Body: "dep"}}),
		"/app.tgz": testutil.Tgz(t, map[string]testutil.File{"app": {Body: "app"}}),
	})
	def := taskDef(`echo ok > /result`, "/result")
	def.CachedDependencies = []*models.CachedDependency{{Name: "dep", From: srv.URL + "/dep.tgz", To: "/tmp/dep", CacheKey: "dep"}}
	def.Action = models.WrapAction(models.Serial(
		&models.DownloadAction{Artifact: "app", From: srv.URL + "/app.tgz", To: "/tmp/dep/app", User: "root"},
		def.Action.RunAction,
	))
	f.placeTask(t, "task-runc-into-mount", def)
	task := f.waitTask(t, "task-runc-into-mount", models.Task_Completed)
	if !task.Failed || !strings.Contains(task.FailureReason, "read-only file system") {
		t.Fatalf("task: failed %v (%q), want the download refused by the read-only mount", task.Failed, task.FailureReason)
	}
}
