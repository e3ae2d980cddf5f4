package actions

import (
	"archive/tar"
	"context"
	"errors"
	"io"
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
	ctx := context.Background()
	c := newProcessContainer(t)

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

// newProcessContainer returns a container of a process backend in a temp
// directory, destroyed when the test ends.
func newProcessContainer(t *testing.T) container.Container {
	t.Helper()
	b, err := process.New(process.Config{RootDir: t.TempDir(),
		Settings: host.Settings{HostIP: "127.0.0.1", PortRangeStart: 61000, PortRangeEnd: 61100, MemoryMB: 1024, DiskMB: 1024}})
	if err != nil {
		t.Fatalf("process backend: %v", err)
	}
	ctx := context.Background()
	c, err := b.Create(ctx, container.Spec{Handle: "actions-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Destroy(ctx, "actions-test") })
	return c
}

// readContainerFile returns the content of the file at path in c.
func readContainerFile(t *testing.T, c container.Container, path string) string {
	t.Helper()
	rc, err := c.StreamOut(context.Background(), path)
	if err != nil {
		t.Fatalf("stream out %s: %v", path, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		t.Fatalf("stream out %s: %v", path, err)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
