package runc

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/diego-go/diego/src/rep/container/tario"
)

// maxSymlinks bounds symlink resolution, as the kernel's ELOOP does.
const maxSymlinks = 255

// secureJoin resolves the container path p under root as if root were "/":
// ".." stops at root and symlinks, absolute or relative, are followed inside
// root, so the result never names a file outside it. Missing components are
// kept as they are. (A process in the container swapping a directory for a
// symlink while the rep resolves can still race it.)
func secureJoin(root, p string) (string, error) {
	var resolved string // relative to root, "" is root itself
	parts := strings.Split(path.Clean("/"+p), "/")
	links := 0
	for len(parts) > 0 {
		part := parts[0]
		parts = parts[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			resolved = path.Dir("/" + resolved)[1:]
			continue
		}
		next := path.Join(resolved, part)
		fi, err := os.Lstat(filepath.Join(root, next))
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
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			resolved = ""
		}
		parts = append(strings.Split(target, "/"), parts...)
	}
	return filepath.Join(root, resolved), nil
}

// StreamIn implements container.Container: it extracts the tar stream into
// dir (inside the container, created if missing) through the bundle's
// rootfs on the host. Entries stay inside the container: ".." stops at its
// root and symlinks resolve within it. Ownership and modes are kept.
func (c *Container) StreamIn(ctx context.Context, dir string, tarStream io.Reader) error {
	return c.streamIn(ctx, dir, tarStream, nil)
}

// StreamInAs implements container.UserStreamer: StreamIn with every entry,
// and every directory it creates, owned by user (as garden-runc does), so
// a process running as that user can write next to what was streamed in.
func (c *Container) StreamInAs(ctx context.Context, user, dir string, tarStream io.Reader) error {
	if err := c.errIfGone(); err != nil {
		return err
	}
	owner, err := lookupUser(c.RootFSPath(), user)
	if err != nil {
		return fmt.Errorf("container: stream in: %w", err)
	}
	if !path.IsAbs(dir) {
		// as in Garden: a relative path is in the user's home, where the
		// user's processes start (Cloud Controller downloads droplets to ".")
		dir = path.Join(owner.home, dir)
	}
	return c.streamIn(ctx, dir, tarStream, &owner)
}

func (c *Container) streamIn(ctx context.Context, dir string, tarStream io.Reader, owner *passwdEntry) error {
	if err := c.errIfGone(); err != nil {
		return err
	}
	root := c.RootFSPath()
	return tario.Extract(ctx, tarStream, func(hdr *tar.Header, r io.Reader) error {
		return extract(root, dir, hdr, r, owner)
	})
}

// extract writes one entry of a stream into container dir dir under root;
// with an owner, it and the directories created for it belong to owner.
func extract(root, dir string, hdr *tar.Header, r io.Reader, owner *passwdEntry) error {
	name := path.Join("/", dir, hdr.Name)
	parent, err := secureJoin(root, path.Dir(name))
	if err != nil {
		return err
	}
	if err := mkdirAllOwned(root, parent, owner); err != nil {
		return err
	}
	target := filepath.Join(parent, path.Base(name)) // name "/" is root itself
	written, err := tario.WriteEntry(target, hdr, r, 0, func() (string, error) {
		return secureJoin(root, path.Join("/", dir, hdr.Linkname))
	})
	if !written || err != nil {
		return err
	}
	if owner != nil {
		return os.Lchown(target, int(owner.uid), int(owner.gid))
	}
	return os.Lchown(target, hdr.Uid, hdr.Gid)
}

// mkdirAllOwned is os.MkdirAll(dir) that gives the directories it creates
// (below root) to owner, when there is one.
func mkdirAllOwned(root, dir string, owner *passwdEntry) error {
	if owner == nil {
		return os.MkdirAll(dir, 0o755)
	}
	var missing []string
	for d := dir; d != root && len(d) > len(root); d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range missing {
		if err := os.Lchown(d, int(owner.uid), int(owner.gid)); err != nil {
			return err
		}
	}
	return nil
}

// StreamOut implements container.Container: a tar of path inside the
// container. A file or a directory appears under its base name; a path
// ending in "/" streams the directory's contents.
func (c *Container) StreamOut(ctx context.Context, p string) (io.ReadCloser, error) {
	if err := c.errIfGone(); err != nil {
		return nil, err
	}
	src, err := secureJoin(c.RootFSPath(), p)
	if err != nil {
		return nil, fmt.Errorf("container: stream out: %w", err)
	}
	return tario.Stream(ctx, src, p, true)
}
