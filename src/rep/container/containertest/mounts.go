package containertest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/diego-go/diego/src/rep/container"
)

// Option changes what the suite expects of a backend.
type Option func(*options)

type options struct{ writableMounts bool }

// WritableMounts tells the suite the backend cannot make bind mounts
// read-only (the process backend links them into the home).
func WritableMounts() Option { return func(o *options) { o.writableMounts = true } }

// testBindMount: a host directory appears at the mount's container path,
// found through an environment variable naming it (as CF_INSTANCE_CERT
// does), shows changes made on the host (credential renewal) and refuses
// writes when read-only.
func testBindMount(t *testing.T, b container.Backend, o options) {
	host := t.TempDir()
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(host, "instance.crt"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("first\n")
	c := create(t, b, container.Spec{
		Handle:     "mount",
		Env:        []string{"MOUNTED_FILE=/suite-mount/creds/instance.crt", "MOUNTED_DIR=/suite-mount/creds"},
		BindMounts: []container.BindMount{{HostPath: host, ContainerPath: "/suite-mount/creds", ReadOnly: true}},
	})
	mkdir(t, c, "/suite")
	if r := runSh(t, c, "/suite", `cat "$MOUNTED_FILE"`); r.status != 0 || r.stdout != "first\n" {
		t.Fatalf("cat $MOUNTED_FILE: status %d stdout %q stderr %q, want first", r.status, r.stdout, r.stderr)
	}
	write("renewed\n")
	if r := runSh(t, c, "/suite", `cat "$MOUNTED_FILE"`); r.stdout != "renewed\n" {
		t.Errorf("after the host file changed: stdout %q, want renewed", r.stdout)
	}
	r := runSh(t, c, "/suite", `if echo x > "$MOUNTED_DIR/new" 2>/dev/null; then echo wrote; else echo refused; fi`)
	if !o.writableMounts && r.stdout != "refused\n" {
		t.Errorf("writing into a read-only bind mount: %q, want refused", r.stdout)
	}
}
