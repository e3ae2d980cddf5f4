package acceptance

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/ccrecipe"
)

// cfFixtures are what the cloud-foundry group's apps need: the lifecycle
// bundle and droplet (holding cfapp, src/internal/ccrecipe/cfapp) served on
// the suite's app_listen address, as Cloud Controller's blobstore would.
type cfFixtures struct {
	assets *ccrecipe.AssetServer
	// cfappBin is the static cfapp binary (for the droplet of a bad checksum).
	cfapp []byte
}

var (
	cfOnce sync.Once
	cfFix  *cfFixtures
	cfErr  error
)

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
	dir, err := os.MkdirTemp("", "acceptance-cfapp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "cfapp")
	if err := goBuild([]string{"CGO_ENABLED=0"}, "-trimpath", "-ldflags=-s -w", "-o", bin, "./src/internal/ccrecipe/cfapp"); err != nil {
		return nil, err
	}
	cfapp, err := os.ReadFile(bin)
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
	teardowns = append(teardowns, func(bool) { s.Close() })
	return &cfFixtures{assets: s, cfapp: cfapp}, nil
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

// report is what cfapp reports from inside an instance (GET /report).
type report struct {
	Cwd   string            `json:"cwd"`
	UID   int               `json:"uid"`
	Env   map[string]string `json:"env"`
	Files map[string]struct {
		Exists bool   `json:"exists"`
		Text   string `json:"text"`
	} `json:"files"`
	Cert *struct {
		CommonName string    `json:"common_name"`
		OUs        []string  `json:"organizational_units"`
		DNSNames   []string  `json:"dns_names"`
		IPs        []string  `json:"ips"`
		NotBefore  time.Time `json:"not_before"`
		NotAfter   time.Time `json:"not_after"`
		KeyMatches bool      `json:"key_matches"`
	} `json:"cert"`
	CertErr     string   `json:"cert_error"`
	SystemCerts []string `json:"system_certs"`
}

// instanceReport fetches GET /report from an instance.
func instanceReport(t *testing.T, l *models.ActualLRP) report {
	t.Helper()
	code, body, err := get(l, "/report")
	if err != nil || code != 200 {
		t.Fatalf("instance %d: GET /report = %d %q (%v)", l.Index, code, body, err)
	}
	var r report
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("instance %d: decoding /report: %v\n%s", l.Index, err, body)
	}
	return r
}
