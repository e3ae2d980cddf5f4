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

// DefaultMaxBytes bounds the regular files ExtractDir writes: more than any
// droplet or cached dependency, less than a decompression bomb's disk.
const DefaultMaxBytes int64 = 32 << 30

// ErrTooLarge is wrapped by the error of an extraction whose regular files
// would exceed its limit (a decompression bomb, or a sparse file whose holes
// would be written out).
var ErrTooLarge = errors.New("the archive's files exceed the extraction limit")

// ExtractDir is ExtractDirLimit with DefaultMaxBytes.
func ExtractDir(ctx context.Context, stream io.Reader, dest string, dirBits os.FileMode) (int64, error) {
	return ExtractDirLimit(ctx, stream, dest, dirBits, DefaultMaxBytes)
}

// ExtractDirLimit extracts the tar stream into the existing directory dest.
// Entries may not escape dest, neither by ".." nor through a symlink;
// directories get dirBits added to their mode; devices are skipped and
// ownership is not kept. It returns the bytes of the regular files written,
// and fails with ErrTooLarge before writing an entry that would take them
// over maxBytes.
func ExtractDirLimit(ctx context.Context, stream io.Reader, dest string, dirBits os.FileMode, maxBytes int64) (int64, error) {
	var size int64
	err := Extract(ctx, stream, func(hdr *tar.Header, r io.Reader) error {
		target, err := SafeJoin(dest, hdr.Name)
		if err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA {
			if hdr.Size > maxBytes-size {
				return fmt.Errorf("%w: %d bytes more after %d would exceed %d bytes; extract it somewhere with a higher limit or check the archive", ErrTooLarge, hdr.Size, size, maxBytes)
			}
			size += hdr.Size
			r = io.LimitReader(r, hdr.Size)
		}
		if hdr.Typeflag != tar.TypeDir {
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
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
