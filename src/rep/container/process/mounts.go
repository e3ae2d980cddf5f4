package process

// Bind mounts without a mount namespace: symlinks under the home, and the
// environment rewritten to name them.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/diego-go/diego/src/rep/container"
)

// linkMounts makes each bind mount visible under the home dir: a symlink at
// dir/ContainerPath to HostPath. ReadOnly cannot be enforced.
func linkMounts(dir string, mounts []container.BindMount) error {
	for _, m := range mounts {
		link := filepath.Join(dir, filepath.Clean("/"+m.ContainerPath))
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return fmt.Errorf("container: bind mount %s: %w", m.ContainerPath, err)
		}
		if err := os.Symlink(m.HostPath, link); err != nil {
			return fmt.Errorf("container: bind mount %s: %w", m.ContainerPath, err)
		}
	}
	return nil
}

// mountEnv rewrites the values of env naming a bind mount's container path,
// or a path under it, to that path under the home dir, where processes
// (which see the host's filesystem) find it.
func mountEnv(dir string, mounts []container.BindMount, env []string) []string {
	if len(mounts) == 0 {
		return env
	}
	out := make([]string, len(env))
	for i, kv := range env {
		out[i] = kv
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		for _, m := range mounts {
			p := filepath.Clean("/" + m.ContainerPath)
			if v == p || strings.HasPrefix(v, p+"/") {
				out[i] = k + "=" + filepath.Join(dir, v)
				break
			}
		}
	}
	return out
}
