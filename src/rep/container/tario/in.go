package tario

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Extract reads the tar stream and hands each entry to write, until the
// stream ends, ctx ends or write fails; errors name the entry.
func Extract(ctx context.Context, stream io.Reader, write func(hdr *tar.Header, r io.Reader) error) error {
	tr := tar.NewReader(stream)
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
		if err := write(hdr, tr); err != nil {
			return fmt.Errorf("container: stream in %s: %w", hdr.Name, err)
		}
	}
}

// WriteEntry writes one tar entry at target, whose parent exists: a
// directory (its mode plus dirBits; a non-directory in its way is removed,
// never followed), a regular file (replaced, never written through an
// existing symlink; mode and modification time kept), a symlink, or a hard
// link to the regular file linkSrc returns. Other types (devices, fifos,
// pax headers) are skipped: it then reports false.
func WriteEntry(target string, hdr *tar.Header, r io.Reader, dirBits os.FileMode, linkSrc func() (string, error)) (bool, error) {
	mode := os.FileMode(hdr.Mode) & os.ModePerm
	switch hdr.Typeflag {
	case tar.TypeDir:
		if fi, err := os.Lstat(target); err == nil && !fi.IsDir() {
			_ = os.Remove(target)
		}
		if err := os.MkdirAll(target, 0o755); err != nil {
			return true, err
		}
		return true, os.Chmod(target, mode|dirBits)
	case tar.TypeReg, tar.TypeRegA:
		_ = os.Remove(target)
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
		if err != nil {
			return true, err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return true, err
		}
		if err := f.Close(); err != nil {
			return true, err
		}
		if err := os.Chmod(target, mode); err != nil {
			return true, err
		}
		return true, os.Chtimes(target, hdr.ModTime, hdr.ModTime)
	case tar.TypeSymlink:
		_ = os.Remove(target)
		return true, os.Symlink(hdr.Linkname, target)
	case tar.TypeLink:
		src, err := linkSrc()
		if err != nil {
			return true, err
		}
		if fi, err := os.Lstat(src); err != nil || !fi.Mode().IsRegular() {
			return true, fmt.Errorf("hard link to %s: not a regular file in the stream", hdr.Linkname)
		}
		_ = os.Remove(target)
		return true, os.Link(src, target)
	}
	return false, nil
}
