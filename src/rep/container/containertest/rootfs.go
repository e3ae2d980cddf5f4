package containertest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	rootfsMu   sync.Mutex
	rootfsErrs = map[string]error{}
)

// BusyboxRootFS builds a busybox rootfs at dir with the repository's recipe
// (ci/dev/rootfs/busybox.sh) the first time a test of this binary asks for
// dir, and returns dir. The caller owns dir and removes it.
func BusyboxRootFS(tb testing.TB, dir string) string {
	tb.Helper()
	rootfsMu.Lock()
	defer rootfsMu.Unlock()
	err, built := rootfsErrs[dir]
	if !built {
		_, self, _, _ := runtime.Caller(0) // src/rep/container/containertest/rootfs.go
		script := filepath.Join(filepath.Dir(self), "../../../../ci/dev/rootfs/busybox.sh")
		if out, cerr := exec.Command(script, dir).CombinedOutput(); cerr != nil {
			err = fmt.Errorf("ci/dev/rootfs/busybox.sh: %w: %s", cerr, out)
		}
		rootfsErrs[dir] = err
	}
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}
