package runc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/diego-go/diego/src/rep/container"
)

// view is a container's file tree as seen from the host: its rootfs with
// its bind mounts over it, so that StreamIn and StreamOut reach what a
// process in the container sees at a path (the mount's host directory, not
// the rootfs underneath it), as garden's in-container tar does.
type view struct {
	root   string
	mounts []container.BindMount // ContainerPath clean and absolute
}

// viewOf is the view of root with mounts over it.
func viewOf(root string, mounts []container.BindMount) view {
	v := view{root: root}
	for _, m := range mounts {
		m.ContainerPath = path.Clean("/" + m.ContainerPath)
		v.mounts = append(v.mounts, m)
	}
	return v
}

// view is the container's view (its spec's bind mounts over its rootfs).
func (c *Container) view() view { return viewOf(c.RootFSPath(), c.m.Spec.BindMounts) }

// place is a resolved container path: where it is on the host, the host
// directory it lies under (the rootfs or a mount's), and whether that is a
// read-only mount.
type place struct {
	host, base string
	readOnly   bool
}

// at maps a resolved container path (absolute, no symlinks) to its place:
// under the innermost mount holding it, else under the rootfs.
func (v view) at(p string) place {
	best := -1
	for i, m := range v.mounts {
		if (p == m.ContainerPath || m.ContainerPath == "/" || strings.HasPrefix(p, m.ContainerPath+"/")) &&
			(best < 0 || len(m.ContainerPath) >= len(v.mounts[best].ContainerPath)) {
			best = i
		}
	}
	if best < 0 {
		return place{host: filepath.Join(v.root, p), base: v.root}
	}
	m := v.mounts[best]
	rel := strings.TrimPrefix(strings.TrimPrefix(p, m.ContainerPath), "/")
	return place{host: filepath.Join(m.HostPath, rel), base: m.HostPath, readOnly: m.ReadOnly}
}

// resolve resolves the container path p as the kernel would inside the
// container: ".." stops at the root and symlinks, absolute or relative, are
// followed within the container (across its mounts), so the result never
// names a file outside it. Missing components are kept as they are. (A
// process in the container swapping a directory for a symlink while the
// rep resolves can still race it.)
func (v view) resolve(p string) (string, error) {
	resolved := "/"
	parts := strings.Split(path.Clean("/"+p), "/")
	links := 0
	for len(parts) > 0 {
		part := parts[0]
		parts = parts[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			resolved = path.Dir(resolved)
			continue
		}
		next := path.Join(resolved, part)
		host := v.at(next).host
		fi, err := os.Lstat(host)
		if errors.Is(err, fs.ErrNotExist) {
			resolved = next
			continue
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if links++; links > maxSymlinks {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			resolved = "/"
		}
		parts = append(strings.Split(target, "/"), parts...)
	}
	return resolved, nil
}

// join is resolve's place.
func (v view) join(p string) (place, error) {
	r, err := v.resolve(p)
	if err != nil {
		return place{}, err
	}
	return v.at(r), nil
}

// secureJoin resolves the container path p under root (no mounts) to a
// host path; see view.resolve.
func secureJoin(root, p string) (string, error) {
	pl, err := view{root: root}.join(p)
	return pl.host, err
}

// writable fails, as the kernel does, for a place in a read-only mount.
func (pl place) writable(op, name string) error {
	if pl.readOnly {
		return &fs.PathError{Op: op, Path: name, Err: syscall.EROFS}
	}
	return nil
}
