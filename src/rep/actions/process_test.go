package actions

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/process"
)

// TestWithProcessBackend runs a small action tree in a real container of
// the process backend: download a tgz, run a script from it, fail with a
// status, and cancel a sleeping process.
func TestWithProcessBackend(t *testing.T) {
	b, err := process.New(process.Config{RootDir: t.TempDir(),
		Settings: host.Settings{HostIP: "127.0.0.1", PortRangeStart: 61000, PortRangeEnd: 61100, MemoryMB: 1024, DiskMB: 1024}})
	if err != nil {
		t.Skipf("process backend: %v", err)
	}
	ctx := context.Background()
	c, err := b.Create(ctx, container.Spec{Handle: "actions-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy(ctx, "actions-test")

	tgz := makeTgz(t, map[string]string{"app/run.sh": "echo hello from $GREETING\nexit 3\n"})
	srv := newArtifactServer(t, map[string][]byte{"/app.tgz": tgz})
	var out syncBuffer
	action := models.Serial(
		&models.DownloadAction{From: srv.URL + "/app.tgz", To: ".", Artifact: "app"},
		&models.RunAction{Path: "/bin/sh", Args: []string{"app/run.sh"}, Env: []*models.EnvironmentVariable{{Name: "GREETING", Value: "diego"}}},
	)
	step, err := Build(models.WrapAction(action), Deps{Container: c, Stdout: &out, LogSource: "APP/PROC/WEB"})
	if err != nil {
		t.Fatal(err)
	}
	err = step.Run(ctx)
	if err == nil || err.Error() != "APP/PROC/WEB: Exited with status 3" {
		t.Fatalf("err = %v; output %q", err, out.String())
	}
	if !strings.Contains(out.String(), "hello from diego\n") {
		t.Errorf("output %q", out.String())
	}

	sleep, _ := Build(models.WrapAction(models.Timeout(&models.RunAction{Path: "/bin/sleep", Args: []string{"30"}}, 100*time.Millisecond)), Deps{Container: c, GracefulShutdown: time.Second})
	start := time.Now()
	err = sleep.Run(ctx)
	if err == nil || err.Error() != "exceeded 100ms timeout" || !errors.Is(err, ErrCancelled) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("sleep ran %s after its timeout", d)
	}
}
