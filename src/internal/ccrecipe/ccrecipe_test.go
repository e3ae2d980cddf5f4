package ccrecipe

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"

	"code.cloudfoundry.org/bbs/models"
)

func testApp() App {
	return App{AppGuid: "app-guid", SpaceGuid: "space-guid", OrgGuid: "org-guid", AppName: "dora",
		SpaceName: "s", OrgName: "o", ProcessID: "process-guid", Version: "version", ProcessType: "web",
		Stack: "cflinuxfs4", RootFS: "preloaded:cflinuxfs4", Instances: 2, MemoryMB: 256, DiskMB: 1024,
		LifecycleURL: "http://127.0.0.1/lifecycle.tgz", DropletURL: "http://127.0.0.1/droplet.tgz",
		DropletSHA256: "abc", StartCommand: "./cfapp", Sidecars: []Sidecar{{Name: "logger", Command: "./logger"}},
		HealthCheckHTTPEndpoint: "/health", Hostnames: []string{"dora.example.com"}}
}

// TestDesiredLRP: the LRP is valid for the BBS and has Cloud Controller's
// shape: lifecycle cached, droplet in setup (or both layers), launcher and
// sidecar codependent, HTTP check, certificate OUs, cf-router route.
func TestDesiredLRP(t *testing.T) {
	a := testApp()
	lrp := a.DesiredLRP()
	if err := lrp.Validate(); err != nil {
		t.Fatalf("invalid desired LRP: %v", err)
	}
	if lrp.ProcessGuid != "process-guid-version" || lrp.Domain != "cf-apps" || lrp.CpuWeight != 3 ||
		len(lrp.CachedDependencies) != 1 || lrp.CachedDependencies[0].CacheKey != "buildpack-cflinuxfs4-lifecycle" ||
		lrp.CachedDependencies[0].To != "/tmp/lifecycle" || lrp.ImageLayers != nil {
		t.Errorf("lrp: %+v", lrp)
	}
	dl := lrp.Setup.SerialAction.Actions[0].DownloadAction
	if dl.To != "." || dl.CacheKey != "droplets-process-guid-version" || dl.ChecksumAlgorithm != "sha256" || dl.User != "vcap" || dl.Artifact != "droplet" {
		t.Errorf("droplet download: %+v", dl)
	}
	runs := lrp.Action.CodependentAction.Actions
	if len(runs) != 2 || runs[0].RunAction.Path != "/tmp/lifecycle/launcher" || runs[1].RunAction.LogSource != "APP/PROC/WEB/SIDECAR/LOGGER" ||
		runs[0].RunAction.Args[1] != "./cfapp" || runs[1].RunAction.Args[1] != "./logger" {
		t.Errorf("action: %+v", lrp.Action)
	}
	if c := lrp.CheckDefinition.Checks[0].HttpCheck; c == nil || c.Path != "/health" || c.Port != 8080 {
		t.Errorf("check: %+v", lrp.CheckDefinition)
	}
	var routes []map[string]any
	if err := json.Unmarshal(*(*lrp.Routes)["cf-router"], &routes); err != nil || len(routes) != 1 || routes[0]["port"] != 8080.0 {
		t.Errorf("cf-router routes %s: %v", *(*lrp.Routes)["cf-router"], err)
	}
	if ou := lrp.CertificateProperties.OrganizationalUnit; len(ou) != 3 || ou[2] != "app:app-guid" {
		t.Errorf("OUs %v", ou)
	}

	a.DeclarativeAssets = true
	lrp = a.DesiredLRP()
	if err := lrp.Validate(); err != nil {
		t.Fatalf("invalid desired LRP with image layers: %v", err)
	}
	if lrp.Setup != nil || lrp.CachedDependencies != nil || len(lrp.ImageLayers) != 2 ||
		lrp.ImageLayers[1].DestinationPath != "/home/vcap" || lrp.ImageLayers[1].LayerType != models.LayerTypeExclusive {
		t.Errorf("declarative: %+v", lrp)
	}
}

// TestTask: the task is valid and has the droplet download then the
// launcher, the callback URL and the lifecycle cached.
func TestTask(t *testing.T) {
	def := testApp().Task("migrate", "rake db:migrate", "http://127.0.0.1/done")
	task := &models.Task{TaskGuid: "t", Domain: TasksDomain, TaskDefinition: def}
	if err := task.Validate(); err != nil {
		t.Fatalf("invalid task: %v", err)
	}
	steps := def.Action.SerialAction.Actions
	if len(steps) != 2 || steps[0].DownloadAction.CacheKey != "" || steps[1].RunAction.LogSource != "APP/TASK/migrate" ||
		steps[1].RunAction.Args[1] != "rake db:migrate" || def.CompletionCallbackUrl != "http://127.0.0.1/done" {
		t.Errorf("task: %+v", def)
	}
}

// TestAssets: the server serves the bundles with ETags and counts them;
// the droplet holds the app and the staging info.
func TestAssets(t *testing.T) {
	lifecycle, err := Lifecycle([]byte("bin"))
	if err != nil {
		t.Fatal(err)
	}
	droplet, err := Droplet([]byte("bin"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := ServeAssets(ln, lifecycle, droplet)
	defer s.Close()
	resp, err := http.Get(s.DropletURL)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET droplet: %v %v", resp, err)
	}
	defer resp.Body.Close()
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Name == "app/droplet.txt" {
			b, _ := io.ReadAll(tr)
			if !bytes.Equal(b, []byte(DropletText)) {
				t.Errorf("droplet.txt %q", b)
			}
		}
	}
	if len(names) != 6 || s.Hits("/droplet.tgz") != 1 || s.Hits("/lifecycle.tgz") != 0 {
		t.Errorf("entries %v, hits %d/%d", names, s.Hits("/droplet.tgz"), s.Hits("/lifecycle.tgz"))
	}
}
