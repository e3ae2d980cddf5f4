package process

import (
	"context"
	"fmt"
	"io"
	"os"

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
	_, err := tario.ExtractDir(ctx, tarStream, dest, 0o700)
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
