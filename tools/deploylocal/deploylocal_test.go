package deploylocal

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// TestDeployLocal deploys the release with ops-files/test/local-deployment.yml,
// runs the acceptance-tests errand against it, drains a cell (its LRP
// instances must move to the other cells) and tears it down. Root only;
// runs when DIEGO_DEPLOYLOCAL_TEST is set (make test-deploy-local).
func TestDeployLocal(t *testing.T) {
	start := time.Now()
	repo, cache, tarball := deployLocalTestSetup(t)
	root := filepath.Join(cache, "test-root")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	step := time.Now()
	d, err := upForTest(ctx, t, repo, cache, tarball, root, nil, nil)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	defer d.downIfUp()
	t.Logf("TIMING up (compile, render, start, post-start): %s", time.Since(step).Round(time.Second))
	st := d.State
	if len(st.Instances) != 5 {
		t.Errorf("%d instances, want 5 (api/0, scheduler/0, diego-cell/0..2)", len(st.Instances))
	}
	if !checkProcesses(t, d.Deployment) || t.Failed() {
		return
	}

	api, _ := st.Instance("api/0")
	diego := diegoCLI(api)

	waitReady(t, diego)

	// every cell serves Prometheus metrics (diego.rep.metrics_addr in the
	// ops-file) on its own address
	for _, inst := range st.Instances {
		if inst.Group != "diego-cell" {
			continue
		}
		resp, err := http.Get("http://" + inst.IP + ":1802/metrics")
		if err != nil {
			t.Fatalf("%s: rep metrics: %v", inst.Name(), err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := `diego_rep_containers{cell_id="` + inst.ID + `",kind="total",zone="` + inst.AZ + `"}`; resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(want)) {
			t.Fatalf("%s: rep metrics: %d, no %s in\n%s", inst.Name(), resp.StatusCode, want, body)
		}
	}

	// the file server on api/0 serves the diego-sshd package's lifecycle
	// bundle from jobs/file_server/packages/ (local-deployment.yml: plain HTTP)
	checkSSHDBundleServed(t, "http://"+api.IP+":8080/v1/static/diego-sshd/diego-sshd.tgz")

	// the acceptance suite, as the errand
	step = time.Now()
	out, err := runErrandLogged(t, st, "acceptance-tests", "", filepath.Join(root, "acceptance-tests-errand.log"))
	t.Logf("TIMING acceptance-tests errand: %s", time.Since(step).Round(time.Second))
	if err != nil {
		t.Fatalf("errand acceptance-tests: %v\n%s", err, tailLines(out, 80))
	}
	t.Logf("errand acceptance-tests passed:\n%s", grepLines(out, "--- ", "ok", "PASS", "FAIL"))

	// drain a cell: its LRP instances move to the other cells
	step = time.Now()
	if out, err := diego("run", "-i", "6", "-m", "16", "--disk", "16", "-d", "deploy-local", "--timeout", "2m", "drain-check", "--", "/bin/sh", "-c", "sleep 100000"); err != nil {
		t.Fatalf("diego run drain-check: %v\n%s", err, out)
	}
	cells := func() map[string]int {
		out, err := diego("actual-lrps", "-d", "deploy-local")
		if err != nil {
			t.Fatalf("diego actual-lrps: %v\n%s", err, out)
		}
		m := map[string]int{}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			var a map[string]interface{}
			if json.Unmarshal(sc.Bytes(), &a) != nil {
				continue
			}
			if strings.EqualFold(str(a, "state"), "RUNNING") {
				m[str(a, "cell_id")]++
			}
		}
		return m
	}
	before := cells()
	t.Logf("drain-check instances per cell before the drain: %v", before)
	cell, _ := st.Instance("diego-cell/1")
	if before[cell.ID] == 0 {
		t.Fatalf("no instance of drain-check on diego-cell/1 (%s): %v", cell.ID, before)
	}
	if err := StopInstance(st, cell, 5*time.Minute, t.Logf); err != nil {
		t.Fatalf("drain diego-cell/1: %v", err)
	}
	after := cells()
	total := 0
	for _, n := range after {
		total += n
	}
	t.Logf("TIMING drain diego-cell/1: %s; instances per cell after: %v", time.Since(step).Round(time.Second), after)
	if after[cell.ID] != 0 || total != 6 {
		t.Errorf("after draining diego-cell/1 (%s): RUNNING per cell %v, want 6 on the other cells", cell.ID, after)
	}
	drainLog, _ := os.ReadFile(filepath.Join(cell.Root, "sys/log/rep/drain.log"))
	t.Logf("rep drain.log:\n%s", tailLines(drainLog, 12))
	diego("delete-desired-lrp", "drain-check")

	d.down(t)
	t.Logf("TIMING TestDeployLocal in all: %s", time.Since(start).Round(time.Second))
}

var (
	tarballOnce sync.Once
	tarballErr  error
)

// deployLocalTestSetup skips unless DIEGO_DEPLOYLOCAL_TEST is set, needs
// root, and returns the repository, the cache directory and the release
// tarball (built once per test binary, shared by the tests here).
func deployLocalTestSetup(t *testing.T) (repo, cache, tarball string) {
	t.Helper()
	if os.Getenv("DIEGO_DEPLOYLOCAL_TEST") == "" {
		t.Skip("set DIEGO_DEPLOYLOCAL_TEST=1 (make test-deploy-local) to deploy the release locally")
	}
	if os.Geteuid() != 0 {
		t.Fatal("deploy-local needs root")
	}
	repo, err := boshrel.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// Compiled packages and their Go build cache live in the user's cache
	// dir, so a later run (a new checkout in CI too) recompiles only what
	// changed, still from the tarball alone and offline.
	cache = filepath.Join(repo, ".cache", "deploy-local")
	if dir, err := os.UserCacheDir(); err == nil {
		cache = filepath.Join(dir, "diego-deploy-local")
	}
	if c := os.Getenv("DIEGO_DEPLOYLOCAL_CACHE"); c != "" {
		cache = c // e.g. an empty directory: a cold run (compile everything)
	}
	tarball = os.Getenv("DIEGO_DEPLOYLOCAL_TARBALL")
	if tarball != "" {
		return repo, cache, tarball
	}
	tarball = filepath.Join(cache, "test-diego-go.tgz")
	tarballOnce.Do(func() {
		if out, err := exec.Command("bash", filepath.Join(repo, "ci", "dev", "build-bosh.sh")).CombinedOutput(); err != nil {
			tarballErr = fmt.Errorf("ci/dev/build-bosh.sh: %v\n%s", err, out)
			return
		}
		step := time.Now()
		tarballErr = BuildTarball(repo, filepath.Join(repo, "bin", "bosh"), tarball, t.Logf)
		t.Logf("TIMING tarball: %s", time.Since(step).Round(time.Second))
	})
	if tarballErr != nil {
		t.Fatal(tarballErr)
	}
	return repo, cache, tarball
}

// testDeployment is a deployment a test brought up.
type testDeployment struct {
	*Deployment
	downed bool
}

// upForTest deploys manifests/diego.yml with ops-files/test/local-deployment.yml
// and then opsFiles (paths in the repository), the example vars file and
// vars, into root, from tarball, with the packages compiled under cache.
func upForTest(ctx context.Context, t *testing.T, repo, cache, tarball, root string, opsFiles []string, vars map[string]string) (*testDeployment, error) {
	t.Helper()
	ops := []string{filepath.Join(repo, "ops-files", "test", "local-deployment.yml")}
	for _, o := range opsFiles {
		ops = append(ops, filepath.Join(repo, o))
	}
	d, err := Up(ctx, Options{
		Repo: repo, Manifest: filepath.Join(repo, "manifests", "diego.yml"),
		OpsFiles:  ops,
		VarsFiles: []string{filepath.Join(repo, "manifests", "example-vars-files", "vars-diego.yml")},
		Vars:      vars,
		Root:      root, Tarball: tarball, PackagesDir: filepath.Join(cache, "packages"), Logf: t.Logf,
	})
	if err != nil {
		return nil, err
	}
	return &testDeployment{Deployment: d}, nil
}

// downIfUp tears the deployment down unless the test's down step did (defer it).
func (d *testDeployment) downIfUp() {
	if !d.downed {
		d.Down()
	}
}

// down is a test's down step: every instance stopped, no network namespace
// left behind.
func (d *testDeployment) down(t *testing.T) {
	t.Helper()
	step := time.Now()
	d.downed = true
	if err := d.Down(); err != nil {
		t.Errorf("down: %v", err)
	}
	t.Logf("TIMING down: %s", time.Since(step).Round(time.Second))
	for _, inst := range d.State.Instances {
		if _, err := os.Stat(filepath.Join("/run/netns", inst.Netns)); err == nil {
			t.Errorf("namespace %s left behind", inst.Netns)
		}
	}
}

// checkProcesses fails t for every bpm process of d that is not running
// (with its log's tail) and reports whether all run.
func checkProcesses(t *testing.T, d *Deployment) bool {
	t.Helper()
	ok := true
	for _, inst := range d.State.Instances {
		for _, j := range inst.Jobs {
			for _, p := range j.Processes {
				if p.Exited != "" || !alive(p.Pid) {
					t.Errorf("%s %s/%s is not running (%s)%s", inst.Name(), j.Name, p.Name, p.Exited, d.logTail(inst, j))
					ok = false
				}
			}
		}
	}
	return ok
}

// diegoCLI runs the diego-cli job's diego in the instance, returning its
// combined output.
func diegoCLI(inst *Instance) func(args ...string) ([]byte, error) {
	return func(args ...string) ([]byte, error) {
		cmd := Command(inst, "/var/vcap/jobs/diego-cli/bin/diego", args...)
		var b bytes.Buffer
		cmd.Stdout, cmd.Stderr = &b, &b
		err := cmd.Run()
		return b.Bytes(), err
	}
}

// waitReady waits until the BBS and the auctioneer hold their Locket locks
// and the three cells are registered. Deployed is not ready: the BBS's and
// the auctioneer's post-start pass on a standby too (as on BOSH), and a
// standby retries the Locket lock only every lock_retry_interval.
func waitReady(t *testing.T, diego func(args ...string) ([]byte, error)) {
	t.Helper()
	step := time.Now()
	for {
		cellsOut, errC := diego("cells")
		locksOut, errL := diego("locks")
		n := bytes.Count(bytes.TrimSpace(cellsOut), []byte("\n")) + 1
		if errC == nil && errL == nil && n == 3 && bytes.Contains(locksOut, []byte(`"bbs"`)) && bytes.Contains(locksOut, []byte(`"auctioneer"`)) {
			break
		}
		if time.Since(step) > 90*time.Second {
			t.Fatalf("not ready within 90s: diego cells: %v\n%s\ndiego locks: %v\n%s", errC, cellsOut, errL, locksOut)
		}
		time.Sleep(time.Second)
	}
	t.Logf("TIMING ready (BBS and auctioneer hold their locks, 3 cells): %s", time.Since(step).Round(time.Millisecond))
}

func str(m map[string]interface{}, k string) string {
	if v, ok := m[k]; ok {
		if s, ok := v.(string); ok {
			return s
		}
	}
	return ""
}

func tailLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func grepLines(b []byte, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		tl := strings.TrimSpace(l)
		for _, p := range prefixes {
			if strings.HasPrefix(tl, p) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// runErrandLogged runs an errand of the deployment with its output in the
// file logPath, and returns what it wrote there.
func runErrandLogged(t *testing.T, st *State, name, instance, logPath string) ([]byte, error) {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	err = RunErrand(st, name, instance, f)
	f.Close()
	out, _ := os.ReadFile(logPath)
	return out, err
}

// checkSSHDBundleServed downloads the diego-sshd lifecycle bundle from url:
// a gzipped tar holding an executable diego-sshd.
func checkSSHDBundleServed(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("file server: GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
		t.Fatalf("file server: GET %s: %s (ETag %q), want 200 with an ETag", url, resp.Status, resp.Header.Get("ETag"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatalf("file server: %s is not gzipped: %v", url, err)
	}
	tr := tar.NewReader(zr)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "diego-sshd" || hdr.Mode&0o111 == 0 || hdr.Size < 1<<20 {
		t.Fatalf("file server: %s: first entry %+v (%v), want an executable diego-sshd", url, hdr, err)
	}
	t.Logf("file server: %s holds diego-sshd (%.1f MB)", url, float64(hdr.Size)/1e6)
}
