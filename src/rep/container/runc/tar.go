package runc

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/diego-go/diego/src/rep/container/tario"
)

// maxSymlinks bounds symlink resolution, as the kernel's ELOOP does.
const maxSymlinks = 255

// StreamIn implements container.Container: it extracts the tar stream into
// dir (inside the container, created if missing) through the bundle's
// rootfs on the host, or the host directory of a bind mount where the path
// is in one (a read-only mount fails with "read-only file system"). Entries
// stay inside the container: ".." stops at its root and symlinks resolve
// within it. Ownership and modes are kept.
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
	v := c.view()
	return tario.Extract(ctx, tarStream, func(hdr *tar.Header, r io.Reader) error {
		return extract(v, dir, hdr, r, owner)
	})
}

// extract writes one entry of a stream into container dir dir of v; with
// an owner, it and the directories created for it belong to owner.
func extract(v view, dir string, hdr *tar.Header, r io.Reader, owner *passwdEntry) error {
	name := path.Join("/", dir, hdr.Name)
	parentPath, err := v.resolve(path.Dir(name))
	if err != nil {
		return err
	}
	parent := v.at(parentPath)
	// The entry itself is not followed (a symlink is replaced), but it may
	// be a mount point: then it is the mount's directory.
	target := v.at(path.Join(parentPath, path.Base(name))) // name "/" is root itself
	if err := target.writable("stream in", name); err != nil {
		return err
	}
	if err := parent.writable("stream in", path.Dir(name)); err != nil {
		return err
	}
	if err := mkdirAllOwned(parent.base, parent.host, owner); err != nil {
		return err
	}
	written, err := tario.WriteEntry(target.host, hdr, r, 0, func() (string, error) {
		src, err := v.join(path.Join("/", dir, hdr.Linkname))
		return src.host, err
	})
	if !written || err != nil {
		return err
	}
	if owner != nil {
		return os.Lchown(target.host, int(owner.uid), int(owner.gid))
	}
	return os.Lchown(target.host, hdr.Uid, hdr.Gid)
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
// container (in a bind mount's host directory where the path is in one). A
// file or a directory appears under its base name; a path ending in "/"
// streams the directory's contents.
func (c *Container) StreamOut(ctx context.Context, p string) (io.ReadCloser, error) {
	if err := c.errIfGone(); err != nil {
		return nil, err
	}
	v := c.view()
	resolved, err := v.resolve(p)
	if err != nil {
		return nil, fmt.Errorf("container: stream out: %w", err)
	}
	src := v.at(resolved).host
	base := path.Base(resolved)
	if resolved == "/" {
		base = filepath.Base(src)
	}
	return tario.StreamNamed(ctx, src, base, p, true)
}
