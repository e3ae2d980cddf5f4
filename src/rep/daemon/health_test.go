package daemon

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// healthCell is a cell whose health monitoring runs every 50 ms, so the
// tests below see liveness failures without waiting the default 30 s.
func healthCell(t *testing.T) *cellFixture {
	return addCell(t, newBBS(t), "cell-health", func(s *Settings, _ *Options) {
		s.HealthyMonitoringInterval = Duration(50 * time.Millisecond)
		s.UnhealthyMonitoringInterval = Duration(50 * time.Millisecond)
	})
}

// only is the one actual LRP of pg, or nil with what the BBS lists.
func (f *cellFixture) only(t *testing.T, pg string) (*models.ActualLRP, string) {
	lrps := f.actual(t, pg)
	if len(lrps) != 1 {
		return nil, fmt.Sprint(lrps)
	}
	return lrps[0], lrps[0].String()
}

// crashed waits for pg's instance to have crashed once and returns it.
func (f *cellFixture) crashed(t *testing.T, pg string) *models.ActualLRP {
	t.Helper()
	var l *models.ActualLRP
	eventually(t, pg+" to crash", func() (bool, string) {
		var s string
		l, s = f.only(t, pg)
		return l != nil && l.CrashCount > 0, s
	})
	if l.CrashCount != 1 {
		t.Fatalf("crash count %d: %s", l.CrashCount, l)
	}
	return l
}

func shLRP(pg, script string) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: pg, Domain: "test", RootFs: "preloaded:cflinuxfs4", Instances: 1,
		MemoryMb: 32, DiskMb: 32, LogGuid: "log", StartTimeoutMs: 20000,
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: pg}},
		Action: models.WrapAction(&models.RunAction{Path: "/bin/sh", Args: []string{"-c", script}, User: "vcap",
			LogSource: "APP/PROC/WEB"}),
	}
}

// TestSidecarExitCrashes: a sidecar runs beside the action, codependently
// as in the reference (depot/transformer/transformer.go StepsRunner), so
// its failure crashes the instance with its own exit reason.
func TestSidecarExitCrashes(t *testing.T) {
	f := healthCell(t)
	dir := t.TempDir()
	d := shLRP("pg-sidecar", "exec sleep 600")
	d.Sidecars = []*models.Sidecar{{MemoryMb: 16, DiskMb: 16, Action: models.WrapAction(&models.RunAction{
		Path: "/bin/sh", Args: []string{"-c", "touch " + dir + "/sidecar-ran; sleep 0.2; exit 1"}, User: "vcap",
		LogSource: "APP/PROC/WEB/SIDECAR/LOGGER"})}}
	f.desireAndPlace(t, d, "ig-sidecar")
	l := f.crashed(t, "pg-sidecar")
	if want := "APP/PROC/WEB/SIDECAR/LOGGER: Exited with status 1"; l.CrashReason != want {
		t.Fatalf("crash reason %q, want %q", l.CrashReason, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "sidecar-ran")); err != nil {
		t.Fatalf("the sidecar never ran: %v", err)
	}
}

// TestMonitorDecidesAfterActionExits: with a monitor action, the action
// exiting 0 does not crash the instance (the reference runs them
// codependently without errorOnExit: the app may have daemonized); the
// instance stays RUNNING while the monitor passes and crashes, with the
// monitor's output as the reason, once it fails.
func TestMonitorDecidesAfterActionExits(t *testing.T) {
	f := healthCell(t)
	dir := t.TempDir()
	d := shLRP("pg-monitor", "touch "+dir+"/exited; exit 0")
	// Shaped as Cloud Controller shapes a monitor: a parallel action of
	// suppressed run actions.
	d.Monitor = models.WrapAction(models.Parallel(&models.RunAction{Path: "/bin/sh", User: "vcap", LogSource: "HEALTH",
		SuppressLogOutput: true, Args: []string{"-c", "echo >> " + dir + "/checks; " +
			"if [ -f " + dir + "/dead ]; then echo 'failed to make TCP connection to port 8080: connection refused'; exit 4; fi"}}))
	f.desireAndPlace(t, d, "ig-monitor")
	f.waitRunning(t, "pg-monitor", "ig-monitor")
	eventually(t, "the action to exit", func() (bool, string) {
		_, err := os.Stat(filepath.Join(dir, "exited"))
		return err == nil, "not yet"
	})
	checks := func() int {
		b, _ := os.ReadFile(filepath.Join(dir, "checks"))
		return bytes.Count(b, []byte("\n"))
	}
	after := checks()
	eventually(t, "three more monitor runs after the action exited", func() (bool, string) {
		n := checks()
		return n >= after+3, fmt.Sprintf("monitor ran %d times", n-after)
	})
	if l, s := f.only(t, "pg-monitor"); l == nil || l.State != models.ActualLRPStateRunning || l.CrashCount != 0 {
		t.Fatalf("after the action exited 0 with the monitor passing: %s", s)
	}

	if err := os.WriteFile(filepath.Join(dir, "dead"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	l := f.crashed(t, "pg-monitor")
	if want := "Instance became unhealthy: failed to make TCP connection to port 8080: connection refused"; l.CrashReason != want {
		t.Fatalf("crash reason %q, want %q", l.CrashReason, want)
	}
}

// TestCheckFailureReasons: the BBS records a check_definition's failures
// worded as the reference's healthcheck binary and health check step word
// them (see src/rep/health/wording_test.go), naming the container-side
// port.
func TestCheckFailureReasons(t *testing.T) {
	f := healthCell(t)

	tcp := shLRP("pg-tcp", "exec sleep 600")
	tcp.Ports = []uint32{8080}
	tcp.StartTimeoutMs = 300
	tcp.CheckDefinition = &models.CheckDefinition{Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}}}
	f.desireAndPlace(t, tcp, "ig-tcp")

	dead := filepath.Join(t.TempDir(), "dead")
	web := shLRP("pg-http", "exec "+helperBin("httpserver"))
	web.Ports = []uint32{8080}
	web.EnvironmentVariables = []*models.EnvironmentVariable{{Name: "PORT", Value: "8080"}, {Name: "DEAD_FILE", Value: dead}}
	web.CheckDefinition = &models.CheckDefinition{Checks: []*models.Check{{HttpCheck: &models.HTTPCheck{Port: 8080, Path: "/alive", IntervalMs: 50}}}}
	f.desireAndPlace(t, web, "ig-http")

	l := f.crashed(t, "pg-tcp")
	neverHealthy := regexp.MustCompile(`^Instance never healthy after [0-9.]+m?s: Timed out after 300ms \([0-9]+ attempts\) waiting for startup check to succeed: ` +
		`failed to make TCP connection to 127\.0\.0\.1:8080: dial tcp 127\.0\.0\.1:8080: connect: connection refused$`)
	if !neverHealthy.MatchString(l.CrashReason) {
		t.Errorf("tcp crash reason %q", l.CrashReason)
	}

	f.waitRunning(t, "pg-http", "ig-http")
	if err := os.WriteFile(dead, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	l = f.crashed(t, "pg-http")
	unhealthy := regexp.MustCompile(`^Instance became unhealthy: Liveness check unsuccessful: ` +
		`failed to make HTTP request to '/alive' on port 8080: received status code 500 in [0-9]+ms$`)
	if !unhealthy.MatchString(l.CrashReason) {
		t.Errorf("http crash reason %q", l.CrashReason)
	}
}

// TestRuncCheckNamesContainerAddress: on runc the TCP check's failure
// names the container's own IP and port, as the reference's healthcheck
// (run inside the container) does.
func TestRuncCheckNamesContainerAddress(t *testing.T) {
	f := runcCell(t, 10, false)
	d := runcDesired("pg-runc-never")
	d.Action = models.WrapAction(&models.RunAction{Path: "/bin/sh", Args: []string{"-c", "exec sleep 600"}, User: "vcap"})
	d.StartTimeoutMs = 500
	f.desireAndPlace(t, d, "ig-runc-never")
	l := f.crashed(t, "pg-runc-never")
	want := regexp.MustCompile(`^Instance never healthy after [0-9.]+m?s: Timed out after 500ms \([0-9]+ attempts\) waiting for startup check to succeed: ` +
		`failed to make TCP connection to (10\.253\.[0-9]+\.[0-9]+):8080: dial tcp (10\.253\.[0-9]+\.[0-9]+):8080: connect: connection refused$`)
	m := want.FindStringSubmatch(l.CrashReason)
	if m == nil || m[1] != m[2] {
		t.Fatalf("crash reason %q", l.CrashReason)
	}
}

// TestActionExitZeroAloneCrashes: with neither monitor nor sidecar, an
// action exiting 0 ends the instance, crashed with the reference's empty
// reason (its steps all succeeded: executor containerstore completes the
// container without a failure reason, which the rep reports as the crash).
func TestActionExitZeroAloneCrashes(t *testing.T) {
	f := healthCell(t)
	f.desireAndPlace(t, shLRP("pg-exit0", "exit 0"), "ig-exit0")
	if l := f.crashed(t, "pg-exit0"); l.CrashReason != "" {
		t.Fatalf("crash reason %q, want none", l.CrashReason)
	}
}
