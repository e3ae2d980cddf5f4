package process

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/tarout"
)

// StreamIn implements container.Container: it extracts the tar stream into
// dir (inside the container, created if missing). Entries may not escape
// dir, neither by ".." nor through a symlink; devices are skipped and
// ownership is not kept (no root).
func (c *Container) StreamIn(ctx context.Context, dir string, tarStream io.Reader) error {
	if c.isDestroying() {
		return fmt.Errorf("%w: %s", container.ErrNotFound, c.handle)
	}
	dest := c.resolve(dir)
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("container: stream in: %w", err)
	}
	tr := tar.NewReader(tarStream)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("container: stream in: reading tar: %w", err)
		}
		if err := extract(dest, hdr, tr); err != nil {
			return fmt.Errorf("container: stream in %s: %w", hdr.Name, err)
		}
	}
}

// safeJoin joins name under base, refusing a path whose existing parents
// include a symlink (which could point out of base).
func safeJoin(base, name string) (string, error) {
	rel := filepath.Clean("/" + name)
	p := filepath.Join(base, rel)
	cur := base
	parts := strings.Split(strings.Trim(rel, "/"), "/")
	for _, part := range parts[:max(len(parts)-1, 0)] {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return "", fmt.Errorf("path goes through symlink %s", cur)
		}
	}
	return p, nil
}

func extract(dest string, hdr *tar.Header, r io.Reader) error {
	target, err := safeJoin(dest, hdr.Name)
	if err != nil {
		return err
	}
	mode := os.FileMode(hdr.Mode) & os.ModePerm
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
		return os.Chmod(target, mode|0o700)
	case tar.TypeReg, tar.TypeRegA:
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		_ = os.Remove(target) // replace, never write through an existing symlink
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Chmod(target, mode); err != nil {
			return err
		}
		return os.Chtimes(target, hdr.ModTime, hdr.ModTime)
	case tar.TypeSymlink:
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		_ = os.Remove(target)
		return os.Symlink(hdr.Linkname, target)
	case tar.TypeLink:
		src, err := safeJoin(dest, hdr.Linkname)
		if err != nil {
			return err
		}
		if fi, err := os.Lstat(src); err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("hard link to %s: not a regular file in the stream", hdr.Linkname)
		}
		_ = os.Remove(target)
		return os.Link(src, target)
	default:
		return nil // devices, fifos, pax/global headers: skipped
	}
}

// StreamOut implements container.Container: a tar of path inside the
// container. A file or a directory appears under its base name; a path
// ending in "/" streams the directory's contents.
func (c *Container) StreamOut(ctx context.Context, path string) (io.ReadCloser, error) {
	if c.isDestroying() {
		return nil, fmt.Errorf("%w: %s", container.ErrNotFound, c.handle)
	}
	return tarout.Stream(ctx, c.resolve(path), path, false)
}
