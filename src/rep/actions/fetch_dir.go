package actions

import (
	"context"
	"fmt"
	"os"

	"github.com/diego-go/diego/src/rep/container/tario"
)

// FetchDir fetches the artifact as Fetch does and returns it extracted in a
// directory on the cell, to be bind-mounted read-only, with the bytes
// downloaded (0 when a cached copy served) and the release to call once no
// container uses it. An artifact the cache keeps is extracted once: its
// directory is shared until the entry is evicted or replaced and its last
// user has released it. Any other artifact is extracted into a directory of
// its own, removed at release. As in the reference, the artifact needs a
// cache key and ETag or Last-Modified (see Artifact.Dir).
func (d *Downloader) FetchDir(ctx context.Context, a Artifact) (dir string, size int64, release func(), err error) {
	a.Dir = true
	err = d.fetch(ctx, a, func(got artifactFile) error {
		size = got.size
		if got.key != "" {
			if dir, release = d.Cache.useDir(got.key); dir != "" {
				got.f.Close()
				return nil
			}
		}
		tarStream, _, err := asTar(got.f, got.size, got.key == "")
		if err != nil {
			return err
		}
		defer tarStream.Close()
		path, err := d.newDir()
		if err != nil {
			return err
		}
		n, err := tario.ExtractDir(ctx, tarStream, path, 0)
		if err != nil {
			os.RemoveAll(path)
			return fmt.Errorf("extracting %s: %w", a.URL, err)
		}
		dir = path
		if d.Cache == nil {
			release = func() { os.RemoveAll(path) }
			return nil
		}
		release = d.Cache.attachDir(got.key, path, n)
		return nil
	})
	if err != nil {
		return "", 0, nil, err
	}
	return dir, size, release, nil
}

// newDir makes the directory for an extraction: in the cache's extracted
// area, or a temporary one without a cache.
func (d *Downloader) newDir() (string, error) {
	if d.Cache != nil {
		return d.Cache.newDir()
	}
	path, err := os.MkdirTemp("", "diego-dependency-")
	if err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	return path, os.Chmod(path, 0o755)
}
