package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rep/container/proc"
	"github.com/diego-go/diego/src/rep/container/process"
	"github.com/diego-go/diego/src/rep/daemon"
	"github.com/diego-go/diego/src/rep/reptest"
)

// binDir holds the rep binary built for these tests.
var binDir string

func TestMain(m *testing.M) {
	testutil.MainWithBinaries(m, &binDir, testutil.Build{Pkgs: []string{"."}})
}

// repBin is the rep binary built for these tests.
func repBin() string { return filepath.Join(binDir, "rep") }

// writeJSON writes v as a config file and returns its path.
func writeJSON(tb testing.TB, v any) string {
	tb.Helper()
	return testutil.WriteJSON(tb, "rep.json", v)
}

// exampleConfig is example.json with its certificate paths pointing at b.
func exampleConfig(t *testing.T, b *pki.Bundle) map[string]any {
	t.Helper()
	data, err := os.ReadFile("example.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"ca_file": b.CACert, "cert_file": b.ServerCert, "key_file": b.ServerKey,
		"bbs_ca_file": b.CACert, "bbs_client_cert_file": b.ClientCert, "bbs_client_key_file": b.ClientKey,
	} {
		m[k] = v
	}
	return m
}

func TestCheckConfig(t *testing.T) {
	b, err := pki.GenerateLocal(filepath.Join(t.TempDir(), "certs"), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(repBin(), "-check-config", "-config", writeJSON(t, exampleConfig(t, b))).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "config OK") {
		t.Fatalf("example config: %v\n%s", err, out)
	}

	for _, tc := range []struct {
		name   string
		change func(m map[string]any)
		want   []string
	}{
		{"no cell_id", func(m map[string]any) { delete(m, "cell_id") }, []string{"cell_id is required"}},
		{"bad metrics_address", func(m map[string]any) { m["metrics_address"] = "1802" }, []string{`metrics_address "1802" must be host:port`}},
		{"bad backend", func(m map[string]any) { m["backend"] = "docker" }, []string{`backend "docker" must be process, runc, garden or sim`}},
		{"unknown field", func(m map[string]any) { m["cel_id"] = "x" }, []string{`unknown field "cel_id"`}},
		{"unknown section field", func(m map[string]any) { m["process"] = map[string]any{"root": "/x"} }, []string{`unknown field "root"`}},
		{"other backend's section", func(m map[string]any) { m["runc"] = map[string]any{"state_dir": "/x"} },
			[]string{"runc section given but backend is process"}},
		{"bad section field", func(m map[string]any) {
			m["process"] = map[string]any{"port_range_start": 70000, "port_range_end": 70001}
		},
			[]string{"process.port range 70000-70001"}},
		{"garden without rootfs mapping", func(m map[string]any) { m["backend"] = "garden"; delete(m, "process") },
			[]string{`garden.default_rootfs has no entry for "cflinuxfs4"`}},
		{"several problems", func(m map[string]any) {
			delete(m, "locket_address")
			m["stop_timeout"] = "0s"
			m["log_level"] = "loud"
			m["ca_file"] = "/nonexistent/ca.crt"
		}, []string{"locket_address is required", "stop_timeout 0s must be positive", `log_level "loud"`, "ca_file: stat /nonexistent/ca.crt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := exampleConfig(t, b)
			tc.change(m)
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(repBin(), "-check-config", "-config", writeJSON(t, m))
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v (want code 1)\nstdout: %s\nstderr: %s", err, &stdout, &stderr)
			}
			if strings.Contains(stdout.String(), "OK") {
				t.Errorf("stdout says OK: %s", &stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not say %q:\n%s", w, &stderr)
				}
			}
		})
	}

	out, err = exec.Command(repBin(), "-version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "rep ") {
		t.Errorf("-version: %v %s", err, out)
	}
}

// repProc is a rep binary running as a subprocess.
type repProc struct {
	cmd          *exec.Cmd
	done         chan struct{}
	repURL       string
	localAddress string
}

// startRep runs the rep binary on configPath and waits for the line that
// says where it serves.
func startRep(t testing.TB, configPath string) *repProc {
	t.Helper()
	cmd := exec.Command(repBin(), "-config", configPath)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &repProc{cmd: cmd, done: make(chan struct{})}
	serving := make(chan map[string]any, 1)
	go func() {
		s := bufio.NewScanner(stderr)
		s.Buffer(nil, 1<<20)
		for s.Scan() {
			line := s.Text()
			t.Logf("rep[%d]: %s", cmd.Process.Pid, line)
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "rep serving" {
				serving <- rec
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	select {
	case rec := <-serving:
		p.repURL, _ = rec["rep_url"].(string)
		p.localAddress, _ = rec["local_address"].(string)
	case <-p.done:
		t.Fatalf("rep exited before serving: %v", cmd.ProcessState)
	case <-time.After(20 * time.Second):
		t.Fatal("rep did not log where it serves")
	}
	return p
}

// wait waits up to d for the rep to exit and returns its exit code.
func (p *repProc) wait(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("rep still running after %s", d)
		return -1
	}
}

var eventually = testutil.Eventually

type cellEnv struct {
	h      *reptest.BBS
	cellID string
	cfg    daemon.Config
}

func (e *cellEnv) cellListed() (bool, string) {
	c, other := e.h.Cell(e.cellID)
	if c == nil {
		return false, other
	}
	return true, c.RepUrl
}

func (e *cellEnv) waitListed(t testing.TB, p *repProc) {
	t.Helper()
	e.h.WaitListed(t, e.cellID, p.repURL, 15*time.Second)
}

// place desires a one-instance sleeper LRP and places its instance on the
// cell through the reference rep client, as the auctioneer would, then
// waits for it to be RUNNING.
func (e *cellEnv) place(t *testing.T, p *repProc, pg, ig string) {
	t.Helper()
	e.h.Place(t, e.repClient(t, p, 10*time.Second), reptest.Sleeper(pg, "test"), ig)
	eventually(t, 15*time.Second, "the instance to be RUNNING", func() (bool, string) {
		l, ok := e.instance(pg, ig)
		return ok && l.State == models.ActualLRPStateRunning, fmt.Sprint(l)
	})
}

func (e *cellEnv) certs() *pki.Bundle { return e.h.Certs }

// baseConfig is a process-backend config for the cell against the
// harness's BBS and Locket, on ephemeral local ports.
func (e *cellEnv) baseConfig(tb testing.TB) daemon.Config {
	h := e.h
	cfg := daemon.DefaultConfig()
	cfg.Settings = daemon.Joining(e.cellID, "z1", h.URL, h.Daemon.LocketAddr(), e.certs())
	cfg.ListenAddress, cfg.LocalAddress = "127.0.0.1:0", "127.0.0.1:0"
	cfg.ContainerRootDir = filepath.Join(tb.TempDir(), "containers")
	return cfg
}

// repClient is the reference rep client for p, as the auctioneer has.
func (e *cellEnv) repClient(tb testing.TB, p *repProc, timeout time.Duration) rep.Client {
	tb.Helper()
	return reptest.Client(tb, e.certs(), p.repURL, timeout)
}

// instance returns the actual LRP ig of pg if the BBS lists it on the cell.
func (e *cellEnv) instance(pg, ig string) (*models.ActualLRP, bool) {
	lrps, err := e.h.Client.ActualLRPs(e.h.Log, "", models.ActualLRPFilter{ProcessGuid: pg, CellID: e.cellID})
	if err != nil {
		return nil, false
	}
	for _, l := range lrps {
		if l.InstanceGuid == ig {
			return l, true
		}
	}
	return nil, false
}

// alive says whether process pid exists and is not a zombie.
var alive = proc.Alive

// containerPgids reads the process groups the process backend recorded.
func containerPgids(t *testing.T, root string) []int {
	t.Helper()
	return process.RecordedGroups(root)
}

var ping = reptest.Ping

// TestRepBinary runs the rep binary against a real BBS with an embedded
// Locket: a SIGKILLed rep's orphaned instance is reaped by the next start;
// POST /evacuate drains the cell and the rep exits 0 by itself; SIGTERM
// stops it with exit 0 and releases its presence.
func TestRepBinary(t *testing.T) {
	h := reptest.StartBBS(t)
	e := &cellEnv{h: h, cellID: "cell-bin"}
	cfg := e.baseConfig(t)
	cfg.MemoryMB, cfg.DiskMB, cfg.MaxContainers = 1024, 1024, 10
	cfg.PresenceTTL = daemon.Duration(2 * time.Second)
	cfg.SyncInterval = daemon.Duration(time.Second)
	cfg.EvacuationTimeout = daemon.Duration(2 * time.Second)
	cfg.EvacuationPollingInterval = daemon.Duration(200 * time.Millisecond)
	cfg.StopTimeout = daemon.Duration(10 * time.Second)
	cfg.LogLevel = "debug"
	e.cfg = cfg
	path := writeJSON(t, cfg)

	// An instance orphaned by a SIGKILLed rep is reaped at the next start.
	p := startRep(t, path)
	e.waitListed(t, p)
	e.place(t, p, "pg-orphan", "ig-orphan")
	// RUNNING (no health check) may be reported while the action starts:
	// wait for its process group to be recorded.
	var pgids []int
	eventually(t, 10*time.Second, "the instance's process group to be recorded", func() (bool, string) {
		pgids = containerPgids(t, cfg.ContainerRootDir)
		return len(pgids) > 0, fmt.Sprint(pgids)
	})
	if len(pgids) != 1 {
		t.Fatalf("recorded process groups: %v", pgids)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 5*time.Second)
	time.Sleep(200 * time.Millisecond)
	if !alive(pgids[0]) {
		t.Fatalf("the instance's process %d died with the rep; want an orphan", pgids[0])
	}
	p = startRep(t, path)
	eventually(t, 10*time.Second, "the orphan to be reaped and dropped from the BBS", func() (bool, string) {
		if alive(pgids[0]) {
			return false, "process alive"
		}
		if l, ok := e.instance("pg-orphan", "ig-orphan"); ok {
			return false, l.String()
		}
		return true, ""
	})
	e.waitListed(t, p)

	// Drain: the running instance has nowhere to go, the evacuation times
	// out, the rep stops by itself.
	e.place(t, p, "pg-drain", "ig-drain")
	if err := reptest.Evacuate(p.localAddress); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("rep exited %d after evacuating, want 0", code)
	}
	if err := ping(p.localAddress); err == nil {
		t.Fatal("/ping still answers after the rep exited")
	}
	if pg := containerPgids(t, cfg.ContainerRootDir); len(pg) != 0 {
		t.Errorf("containers left after the drain: %v", pg)
	}

	// SIGTERM: a clean exit and the presence released.
	p = startRep(t, path)
	e.waitListed(t, p)
	if err := ping(p.localAddress); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 5*time.Second); code != 0 {
		t.Fatalf("rep exited %d after SIGTERM, want 0", code)
	}
	eventually(t, 5*time.Second, "the cell's presence to be gone", func() (bool, string) {
		ok, url := e.cellListed()
		return !ok, url
	})
}
