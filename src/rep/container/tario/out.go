// Package tario moves files between the host and a container backend's tar
// streams: StreamOut's tar of a host tree, and StreamIn's extraction.
package tario

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Stream returns a tar of src, the host path of requested inside the
// container: a file or a directory appears under its base name; a requested
// path ending in "/" streams the directory's contents. With keepOwners the
// entries keep their uid and gid, otherwise they are 0.
func Stream(ctx context.Context, src, requested string, keepOwners bool) (io.ReadCloser, error) {
	return StreamNamed(ctx, src, filepath.Base(src), requested, keepOwners)
}

// StreamNamed is Stream with the base name src has in the container (a
// bind mount's host directory is named otherwise).
func StreamNamed(ctx context.Context, src, base, requested string, keepOwners bool) (io.ReadCloser, error) {
	fi, err := os.Lstat(src)
	if err != nil {
		return nil, fmt.Errorf("container: stream out: %w", err)
	}
	prefix := base
	if strings.HasSuffix(requested, "/") && fi.IsDir() {
		prefix = "."
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(ctx, pw, src, prefix, keepOwners)) }()
	return pr, nil
}

func write(ctx context.Context, w io.Writer, src, prefix string, keepOwners bool) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		name := filepath.ToSlash(filepath.Join(prefix, rel))
		if name == "." {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return nil // sockets and the like: skipped
		}
		hdr.Name = name
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		if !keepOwners {
			hdr.Uid, hdr.Gid = 0, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.CopyN(tw, f, hdr.Size)
			f.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
