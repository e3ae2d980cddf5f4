package daemon

import (
	"net"
	"os"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/ccrecipe"
)

// ccAssets serves, on 127.0.0.1, the buildpack lifecycle bundle and a
// droplet holding the cfapp helper, as Cloud Controller's blobstore does.
func ccAssets(b testing.TB) *ccrecipe.AssetServer {
	cfapp, err := os.ReadFile(helperBin("cfapp"))
	if err != nil {
		b.Fatal(err)
	}
	lifecycle, err := ccrecipe.Lifecycle(cfapp)
	if err != nil {
		b.Fatal(err)
	}
	droplet, err := ccrecipe.Droplet(cfapp)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := ccrecipe.ServeAssets(ln, lifecycle, droplet)
	b.Cleanup(s.Close)
	return s
}

// ccDesired makes desired LRPs of a buildpack app as Cloud Controller
// shapes them: the lifecycle a cached dependency, the droplet downloaded
// with its sha256 in setup, a sidecar beside the app, an HTTP check on
// "/"; mb MB of memory and disk.
func ccDesired(s *ccrecipe.AssetServer, mb int32) func(pg string) *models.DesiredLRP {
	return func(pg string) *models.DesiredLRP {
		return ccrecipe.App{
			AppGuid: "app-" + pg, SpaceGuid: "space", OrgGuid: "org", AppName: pg, SpaceName: "bench", OrgName: "bench",
			ProcessID: pg, Version: "v1", ProcessType: "web", Stack: "cflinuxfs4", RootFS: "preloaded:cflinuxfs4",
			Instances: 1, MemoryMB: mb, DiskMB: mb,
			LifecycleURL: s.LifecycleURL, DropletURL: s.DropletURL, DropletSHA256: s.DropletSHA256,
			StartCommand: "./cfapp", Sidecars: []ccrecipe.Sidecar{{Name: "logger", Command: "./cfapp sidecar logger"}},
			HealthCheckHTTPEndpoint: "/",
		}.DesiredLRP()
	}
}

// BenchmarkWorkToRunningCC is BenchmarkWorkToRunning for a Cloud
// Controller-shaped LRP on the process backend, with a warm dependency
// cache (one instance placed first): the lifecycle from the cache, the
// droplet downloaded and checked, app and sidecar started, the HTTP check
// passed; with instance identity credentials and trusted certificates, as
// every cell of a Cloud Foundry has them.
func BenchmarkWorkToRunningCC(b *testing.B) {
	identity, _ := withIdentity(b)
	f := benchCell(b, max(b.N, 1)+2, 64, identity)
	benchWorkToRunning(b, f, "cc", 1, ccDesired(ccAssets(b), 64))
}

// BenchmarkWorkToRunningCCRunc is BenchmarkWorkToRunningCC on the runc
// backend.
func BenchmarkWorkToRunningCCRunc(b *testing.B) {
	identity, _ := withIdentity(b)
	f := runcCell(b, max(b.N, 1)+2, true, identity)
	benchWorkToRunning(b, f, "cc-runc", 1, ccDesired(ccAssets(b), 64))
}
