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
	"github.com/diego-go/diego/src/rep/container/tario"
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
	return tario.Extract(ctx, tarStream, func(hdr *tar.Header, r io.Reader) error { return extract(dest, hdr, r) })
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
	if hdr.Typeflag != tar.TypeDir {
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
	}
	_, err = tario.WriteEntry(target, hdr, r, 0o700, func() (string, error) { return safeJoin(dest, hdr.Linkname) })
	return err
}

// StreamOut implements container.Container: a tar of path inside the
// container. A file or a directory appears under its base name; a path
// ending in "/" streams the directory's contents.
func (c *Container) StreamOut(ctx context.Context, path string) (io.ReadCloser, error) {
	if c.isDestroying() {
		return nil, fmt.Errorf("%w: %s", container.ErrNotFound, c.handle)
	}
	return tario.Stream(ctx, c.resolve(path), path, false)
}
