package runc_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/runc"
)

// tarContents reads a StreamOut tar into name → body.
func tarContents(t *testing.T, rc io.ReadCloser) map[string]string {
	t.Helper()
	defer rc.Close()
	got := map[string]string{}
	for name, f := range testutil.ReadTar(t, rc) {
		got[name] = f.Body
	}
	return got
}

// TestStreamThroughBindMounts: StreamIn and StreamOut see a container's
// bind mounts as its processes do (and garden's in-container tar): a path
// in a read-only mount (a cached dependency, the trusted certificates)
// refuses writes with the kernel's "read-only file system", one in a
// writable mount lands in the mount, and StreamOut reads the mount, never
// the rootfs underneath.
func TestStreamThroughBindMounts(t *testing.T) {
	ro, rw := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "launcher"), []byte("dep"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := newBackend(t)
	c := create(t, b, container.Spec{Handle: "mounts", BindMounts: []container.BindMount{
		{HostPath: ro, ContainerPath: "/tmp/lifecycle", ReadOnly: true},
		{HostPath: rw, ContainerPath: "/home/vcap/data/"},
	}})
	if status, out := run(t, c, "ln -s /home/vcap/data /data-link"); status != 0 {
		t.Fatal(out)
	}
	ctx := t.Context()

	for _, in := range []struct{ dir, name string }{
		{"/tmp/lifecycle", "x"},            // into the mount
		{"/tmp/lifecycle/sub/deeper", "x"}, // a new directory in it
		{"/tmp", "lifecycle/x"},            // an entry reaching into it
		{"/tmp", "lifecycle"},              // replacing the mount point
	} {
		err := c.StreamIn(ctx, in.dir, bytes.NewReader(tarOneFile(t, in.name, "x")))
		if err == nil || !strings.Contains(err.Error(), "read-only file system") {
			t.Errorf("StreamIn(%s, %s) into a read-only mount: %v, want read-only file system", in.dir, in.name, err)
		}
	}
	if des, _ := os.ReadDir(ro); len(des) != 1 {
		t.Errorf("the read-only mount's directory now has %d entries", len(des))
	}

	for _, dir := range []string{"/home/vcap/data", "/data-link/sub"} {
		if err := c.StreamIn(ctx, dir, bytes.NewReader(tarOneFile(t, "in.txt", dir))); err != nil {
			t.Fatalf("StreamIn(%s): %v", dir, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(rw, "sub", "in.txt")); err != nil || string(b) != "/data-link/sub" {
		t.Errorf("through the symlink: %q, %v; want the file in the mount", b, err)
	}
	if status, out := run(t, c, "cat /home/vcap/data/in.txt"); status != 0 || out != "/home/vcap/data" {
		t.Errorf("the process sees %d %q, want what was streamed into the mount", status, out)
	}
	under := filepath.Join(c.(*runc.Container).RootFSPath(), "home", "vcap", "data")
	if des, _ := os.ReadDir(under); len(des) != 0 {
		t.Errorf("StreamIn wrote underneath the mount: %d entries in %s", len(des), under)
	}

	rc, err := c.StreamOut(ctx, "/tmp/lifecycle")
	if err != nil {
		t.Fatal(err)
	}
	if got := tarContents(t, rc); got["lifecycle/launcher"] != "dep" {
		t.Errorf("StreamOut(/tmp/lifecycle) = %v, want lifecycle/launcher from the mount", got)
	}
	rc, err = c.StreamOut(ctx, "/data-link/sub/in.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := tarContents(t, rc); len(got) != 1 || got["in.txt"] != "/data-link/sub" {
		t.Errorf("StreamOut(/data-link/sub/in.txt) = %v", got)
	}
}
