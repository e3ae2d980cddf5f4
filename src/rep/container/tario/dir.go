package tario

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
)

// ExtractDir extracts the tar stream into the existing directory dest.
// Entries may not escape dest, neither by ".." nor through a symlink;
// directories get dirBits added to their mode; devices are skipped and
// ownership is not kept. It returns the bytes of the regular files written.
func ExtractDir(ctx context.Context, stream io.Reader, dest string, dirBits os.FileMode) (int64, error) {
	var size int64
	err := Extract(ctx, stream, func(hdr *tar.Header, r io.Reader) error {
		target, err := SafeJoin(dest, hdr.Name)
		if err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeDir {
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
		}
		if hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA {
			size += hdr.Size
		}
		_, err = WriteEntry(target, hdr, r, dirBits, func() (string, error) { return SafeJoin(dest, hdr.Linkname) })
		return err
	})
	return size, err
}

// SafeJoin joins name under base, refusing a path whose existing parents
// include a symlink (which could point out of base).
func SafeJoin(base, name string) (string, error) {
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
