package acceptance

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
)

// appDir is where the sample app is downloaded in every container: on the
// process backend "/" is the container's home, on runc the real root, and
// the same absolute path works on both.
const appDir = "/home/vcap/app"

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9-]+`)

// guid is a unique name starting with the test's name.
func guid(t *testing.T, what string) string {
	name := strings.ToLower(t.Name())
	name = strings.Trim(unsafeChars.ReplaceAllString(name, "-"), "-")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return fmt.Sprintf("acc-%s-%s-%s", name, what, randomHex(4))
}

// domain creates the test's own domain, with a TTL so leftovers expire.
func (e *env) domain(t *testing.T) string {
	t.Helper()
	d := guid(t, "domain")
	if err := e.client.UpsertDomain(e.logger, "", d, 10*time.Minute); err != nil {
		t.Fatalf("upserting domain %s: %v", d, err)
	}
	return d
}

// appLRP is a desired LRP of the sample app: downloaded by the setup
// action, checked on tcp 8080, reachable through net_info.
func (e *env) appLRP(processGuid, domain string, instances int32, env ...*models.EnvironmentVariable) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: processGuid,
		Domain:      domain,
		RootFs:      e.cfg.RootFS,
		Instances:   instances,
		MemoryMb:    64,
		DiskMb:      64,
		LogGuid:     processGuid,
		Ports:       []uint32{8080},
		Setup: models.WrapAction(&models.DownloadAction{
			From: e.appURL, To: appDir, CacheKey: e.cacheKey, User: "vcap",
		}),
		Action: models.WrapAction(&models.RunAction{
			Path: appDir + "/sample-app", User: "vcap", Dir: appDir,
		}),
		EnvironmentVariables: append([]*models.EnvironmentVariable{{Name: "PORT", Value: "8080"}}, env...),
		CheckDefinition: &models.CheckDefinition{
			Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}},
		},
		StartTimeoutMs: 60000,
		MetricTags: map[string]*models.MetricTagValue{
			"source_id": {Static: processGuid},
		},
	}
}

// desire desires lrp and removes it when the test ends.
func (e *env) desire(t *testing.T, lrp *models.DesiredLRP) {
	t.Helper()
	if err := e.client.DesireLRP(e.logger, "", lrp); err != nil {
		t.Fatalf("desiring LRP %s: %v", lrp.ProcessGuid, err)
	}
	t.Cleanup(func() {
		err := e.client.RemoveDesiredLRP(e.logger, "", lrp.ProcessGuid)
		if err != nil && models.ConvertError(err).Type != models.Error_ResourceNotFound {
			t.Errorf("cleanup: removing desired LRP %s: %v", lrp.ProcessGuid, err)
		}
	})
}

func (e *env) actuals(t *testing.T, processGuid string) []*models.ActualLRP {
	t.Helper()
	lrps, err := e.client.ActualLRPs(e.logger, "", models.ActualLRPFilter{ProcessGuid: processGuid})
	if err != nil {
		t.Fatalf("listing actual LRPs of %s: %v", processGuid, err)
	}
	sort.Slice(lrps, func(i, j int) bool {
		if lrps[i].Index != lrps[j].Index {
			return lrps[i].Index < lrps[j].Index
		}
		return lrps[i].Presence < lrps[j].Presence
	})
	return lrps
}

// describe is a one-line summary of actual LRPs for failure messages.
func describe(lrps []*models.ActualLRP) string {
	var parts []string
	for _, l := range lrps {
		s := fmt.Sprintf("#%d %s", l.Index, l.State)
		if l.Presence != models.ActualLRP_Ordinary {
			s += " " + l.Presence.String()
		}
		if l.CellId != "" {
			s += " on " + l.CellId
		}
		if l.CrashCount > 0 {
			s += fmt.Sprintf(" crashes=%d", l.CrashCount)
		}
		if l.PlacementError != "" {
			s += fmt.Sprintf(" placement_error=%q", l.PlacementError)
		}
		if l.CrashReason != "" {
			s += fmt.Sprintf(" crash_reason=%q", l.CrashReason)
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, "; ")
}

// running reports whether exactly indices 0..n-1 exist, each ORDINARY and
// RUNNING, and nothing else does.
func running(lrps []*models.ActualLRP, n int) bool {
	if len(lrps) != n {
		return false
	}
	for i, l := range lrps {
		if int(l.Index) != i || l.State != models.ActualLRPStateRunning || l.Presence != models.ActualLRP_Ordinary {
			return false
		}
	}
	return true
}

// waitRunning waits until the LRP has exactly n ORDINARY RUNNING instances
// and returns them.
func (e *env) waitRunning(t *testing.T, processGuid string, n int, timeout time.Duration) []*models.ActualLRP {
	t.Helper()
	var lrps []*models.ActualLRP
	testutil.Eventually(t, timeout, fmt.Sprintf("%d instances of %s RUNNING", n, processGuid), func() (bool, string) {
		lrps = e.actuals(t, processGuid)
		return running(lrps, n), describe(lrps) + e.instanceLog(processGuid, 0)
	})
	return lrps
}

// instanceLog is the end of an instance's container output when the target
// names a log directory (a `diego up` cluster), for failure messages.
func (e *env) instanceLog(processGuid string, index int) string {
	tg, err := e.target()
	if err != nil || tg.LogDir == "" {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(tg.LogDir, processGuid, strconv.Itoa(index)+".log"))
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return fmt.Sprintf("\n--- output of instance %d:\n%s", index, b)
}

// taskLog is the end of a task's container output when the target names
// a log directory (the rep keeps it as tasks/<task_guid>.log there).
func (e *env) taskLog(taskGuid string) string {
	tg, err := e.target()
	if err != nil || tg.LogDir == "" {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(tg.LogDir, "tasks", taskGuid+".log"))
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return fmt.Sprintf("\n--- output of task %s:\n%s", taskGuid, b)
}

// target reads the target file afresh: diego up rewrites it when it
// restarts a component.
func (e *env) target() (Target, error) {
	if e.cfg.TargetFile == "" {
		return Target{}, fmt.Errorf("no target_file in the config")
	}
	return LoadTarget(e.cfg.TargetFile)
}

// appAddress is where an instance's container port 8080 is reachable.
func appAddress(l *models.ActualLRP) (string, error) {
	for _, p := range l.Ports {
		if p.ContainerPort == 8080 {
			return net.JoinHostPort(l.Address, strconv.Itoa(int(p.HostPort))), nil
		}
	}
	return "", fmt.Errorf("instance %d of %s has no port mapping for 8080 in net_info %+v", l.Index, l.ProcessGuid, l.ActualLRPNetInfo)
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// get fetches path from the instance's app.
func get(l *models.ActualLRP, path string) (int, string, error) {
	addr, err := appAddress(l)
	if err != nil {
		return 0, "", err
	}
	resp, err := httpClient.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// expectHello checks that every instance answers GET / as itself.
func expectHello(t *testing.T, lrps []*models.ActualLRP) {
	t.Helper()
	for _, l := range lrps {
		code, body, err := get(l, "/")
		want := fmt.Sprintf("hello from %d %s\n", l.Index, l.InstanceGuid)
		if err != nil || code != 200 || body != want {
			t.Errorf("instance %d: GET / = %d %q (%v), want 200 %q", l.Index, code, body, err, want)
		}
	}
}

// errType is the BBS error type of err (nil: none).
func errType(err error) models.Error_Type {
	if err == nil {
		return -1
	}
	return models.ConvertError(err).Type
}

// cellsByID lists the cells the BBS knows.
func (e *env) cellsByID(t *testing.T) map[string]*models.CellPresence {
	t.Helper()
	cells, err := e.client.Cells(e.logger, "")
	if err != nil {
		t.Fatalf("listing cells: %v", err)
	}
	m := map[string]*models.CellPresence{}
	for _, c := range cells {
		m[c.CellId] = c
	}
	return m
}

// countByCell counts instances per cell.
func countByCell(lrps []*models.ActualLRP) map[string]int {
	m := map[string]int{}
	for _, l := range lrps {
		m[l.CellId]++
	}
	return m
}

// busiestCell is the cell with the most instances, among those allowed.
func busiestCell(lrps []*models.ActualLRP, allowed func(string) bool) string {
	counts := countByCell(lrps)
	ids := make([]string, 0, len(counts))
	for id := range counts {
		if allowed(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	best := ""
	for _, id := range ids {
		if best == "" || counts[id] > counts[best] {
			best = id
		}
	}
	return best
}
