package acceptance

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/ccrecipe"
	"github.com/diego-go/diego/src/internal/ccrecipe/report"
)

// cfFixtures are what the cloud-foundry group's apps need: the lifecycle
// bundle and droplet (holding cfapp, src/internal/ccrecipe/cfapp) served on
// the suite's app_listen address, as Cloud Controller's blobstore would.
type cfFixtures struct {
	assets *ccrecipe.AssetServer
}

var (
	cfOnce sync.Once
	cfFix  *cfFixtures
	cfErr  error
	// teardownMu guards teardowns appended while tests run in parallel.
	teardownMu sync.Mutex
)

// addTeardown registers fn to run after the tests, from any test.
func addTeardown(fn func(failed bool)) {
	teardownMu.Lock()
	defer teardownMu.Unlock()
	teardowns = append(teardowns, fn)
}

// cf builds and serves the fixtures once per run.
func (e *env) cf(t *testing.T) *cfFixtures {
	t.Helper()
	cfOnce.Do(func() { cfFix, cfErr = startCFFixtures(e.cfg.AppListen) })
	if cfErr != nil {
		t.Fatalf("cloud-foundry fixtures: %v", cfErr)
	}
	return cfFix
}

func startCFFixtures(listen string) (*cfFixtures, error) {
	cfapp, err := buildStatic("./src/internal/ccrecipe/cfapp")
	if err != nil {
		return nil, err
	}
	lifecycle, err := ccrecipe.Lifecycle(cfapp)
	if err != nil {
		return nil, err
	}
	droplet, err := ccrecipe.Droplet(cfapp)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("serving the lifecycle and droplet on %s: %w", listen, err)
	}
	s := ccrecipe.ServeAssets(ln, lifecycle, droplet)
	addTeardown(func(bool) { s.Close() })
	return &cfFixtures{assets: s}, nil
}

// uuid is a random version-4-looking guid, as Cloud Controller's guids are.
func uuid() string {
	h := randomHex(16)
	return fmt.Sprintf("%s-%s-4%s-a%s-%s", h[:8], h[8:12], h[13:16], h[17:20], h[20:])
}

// stack is the rootfs's name: "cflinuxfs4" for "preloaded:cflinuxfs4".
func (e *env) stack() string {
	_, name, _ := strings.Cut(e.cfg.RootFS, ":")
	return name
}

// containerHome is where a vcap process starts and "." of a download is:
// /home/vcap in a real root filesystem; the process backend's containers
// have no root filesystem, their home is their root.
func (e *env) containerHome() string {
	if tg, err := e.target(); err == nil && tg.Backend == "process" {
		return "/"
	}
	return "/home/vcap"
}

// cfApp is a new app of a new space and organization, with the fixtures'
// lifecycle and droplet and a logger sidecar, HTTP-checked on "/".
func (e *env) cfApp(t *testing.T) ccrecipe.App {
	f := e.cf(t)
	short := randomHex(3)
	return ccrecipe.App{
		AppGuid: uuid(), SpaceGuid: uuid(), OrgGuid: uuid(),
		AppName: "acc-" + short, SpaceName: "acc-space-" + short, OrgName: "acc-org-" + short,
		ProcessID: uuid(), Version: uuid(), ProcessType: "web",
		Stack: e.stack(), RootFS: e.cfg.RootFS, Instances: 1, MemoryMB: 128, DiskMB: 256,
		LifecycleURL: f.assets.LifecycleURL, DropletURL: f.assets.DropletURL, DropletSHA256: f.assets.DropletSHA256,
		StartCommand:            "./cfapp",
		Sidecars:                []ccrecipe.Sidecar{{Name: "logger", Command: "./cfapp sidecar logger"}},
		HealthCheckHTTPEndpoint: "/",
		Hostnames:               []string{"acc-" + short + ".apps.example.com"},
		DropletDestination:      e.containerHome(),
	}
}

// cfDomain marks Cloud Controller's domain fresh, as its sync loop does.
func (e *env) cfDomain(t *testing.T, domain string) {
	t.Helper()
	if err := e.client.UpsertDomain(e.logger, "", domain, 2*time.Minute); err != nil {
		t.Fatalf("upserting domain %s: %v", domain, err)
	}
}

// instanceReport fetches GET /report from an instance.
func instanceReport(t *testing.T, l *models.ActualLRP) report.Report {
	t.Helper()
	code, body, err := get(l, "/report")
	if err != nil || code != 200 {
		t.Fatalf("instance %d: GET /report = %d %q (%v)", l.Index, code, body, err)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("instance %d: decoding /report: %v\n%s", l.Index, err, body)
	}
	return r
}
