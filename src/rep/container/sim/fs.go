package sim

// The containers' files: in memory, but for bind mounts, which show the
// host's files.

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/diego-go/diego/src/rep/container"
)

type file struct {
	data []byte
	mode fs.FileMode
	dir  bool
}

// abs resolves p (relative to dir) to a clean absolute container path.
func abs(dir, p string) string {
	if !path.IsAbs(p) {
		p = path.Join(dir, p)
	}
	return path.Clean("/" + p)
}

// mounted maps p onto the host when a bind mount covers it.
func (c *Container) mounted(p string) (hostPath string, readOnly, ok bool) {
	for _, m := range c.mounts {
		cp := path.Clean("/" + m.ContainerPath)
		if p == cp {
			return m.HostPath, m.ReadOnly, true
		}
		if rest, found := strings.CutPrefix(p, cp+"/"); found {
			return filepath.Join(m.HostPath, filepath.FromSlash(rest)), m.ReadOnly, true
		}
	}
	return "", false, false
}

// lookup returns the file at p; a directory exists if it was made or
// holds a file.
func (c *Container) lookup(p string) (*file, bool) {
	if hp, _, ok := c.mounted(p); ok {
		fi, err := os.Stat(hp)
		if err != nil {
			return nil, false
		}
		if fi.IsDir() {
			return &file{dir: true, mode: fi.Mode().Perm()}, true
		}
		data, err := os.ReadFile(hp)
		return &file{data: data, mode: fi.Mode().Perm()}, err == nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.files[p]; ok {
		return f, true
	}
	if p == "/" {
		return &file{dir: true, mode: 0o755}, true
	}
	for name := range c.files {
		if strings.HasPrefix(name, p+"/") {
			return &file{dir: true, mode: 0o755}, true
		}
	}
	return nil, false
}

func (c *Container) readFile(p string) ([]byte, error) {
	f, ok := c.lookup(p)
	switch {
	case !ok:
		return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.ENOENT}
	case f.dir:
		return nil, &fs.PathError{Op: "read", Path: p, Err: syscall.EISDIR}
	}
	return f.data, nil
}

// openWrite returns a writer into the file at p (truncated unless
// appending).
func (c *Container) openWrite(p string, appending bool) (io.WriteCloser, error) {
	if p == "/dev/null" {
		return nopCloser{io.Discard}, nil
	}
	if hp, ro, ok := c.mounted(p); ok {
		if ro {
			return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.EROFS}
		}
		flag := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		if appending {
			flag = os.O_CREATE | os.O_WRONLY | os.O_APPEND
		}
		return os.OpenFile(hp, flag, 0o644)
	}
	if f, ok := c.lookup(p); ok && f.dir {
		return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.EISDIR}
	}
	if parent, ok := c.lookup(path.Dir(p)); !ok || !parent.dir {
		return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.ENOENT}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.files == nil {
		c.files = map[string]*file{}
	}
	f := c.files[p]
	if f == nil || !appending {
		f = &file{mode: 0o644}
		if old := c.files[p]; old != nil {
			f.mode = old.mode
		}
		c.files[p] = f
	}
	return &fileWriter{c: c, f: f}, nil
}

type fileWriter struct {
	c *Container
	f *file
}

func (w *fileWriter) Write(b []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	w.f.data = append(w.f.data, b...)
	return len(b), nil
}

func (w *fileWriter) Close() error { return nil }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (c *Container) diskBytes() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n uint64
	for _, f := range c.files {
		n += uint64(len(f.data))
	}
	return n
}

// StreamIn implements container.Container: the tar stream's directories
// and regular files are kept in memory under dir (entries cannot escape
// it); links and devices are skipped.
func (c *Container) StreamIn(ctx context.Context, dir string, tarStream io.Reader) error {
	if c.isDestroying() {
		return fmt.Errorf("%w: %s", container.ErrNotFound, c.handle)
	}
	dir = abs("/", dir)
	add := map[string]*file{dir: {dir: true, mode: 0o755}}
	tr := tar.NewReader(tarStream)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("container: stream in: %w", err)
		}
		p := path.Join(dir, path.Clean("/"+hdr.Name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			add[p] = &file{dir: true, mode: fs.FileMode(hdr.Mode).Perm()}
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				return fmt.Errorf("container: stream in %s: %w", hdr.Name, err)
			}
			add[p] = &file{data: data, mode: fs.FileMode(hdr.Mode).Perm()}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.destroying {
		return fmt.Errorf("%w: %s", container.ErrNotFound, c.handle)
	}
	if c.files == nil {
		c.files = map[string]*file{}
	}
	for p, f := range add {
		c.files[p] = f
	}
	return nil
}

// StreamOut implements container.Container: a tar of path, a file or a
// directory under its base name, a path ending in "/" the directory's
// contents.
func (c *Container) StreamOut(ctx context.Context, p string) (io.ReadCloser, error) {
	if c.isDestroying() {
		return nil, fmt.Errorf("%w: %s", container.ErrNotFound, c.handle)
	}
	contents := strings.HasSuffix(p, "/")
	p = abs("/", p)
	f, ok := c.lookup(p)
	if !ok {
		return nil, fmt.Errorf("container: stream out: %w", &fs.PathError{Op: "stat", Path: p, Err: syscall.ENOENT})
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	write := func(name string, f *file) error {
		hdr := &tar.Header{Name: name, Mode: int64(f.mode), Size: int64(len(f.data)), Typeflag: tar.TypeReg}
		if f.dir {
			hdr.Name, hdr.Typeflag, hdr.Size = name+"/", tar.TypeDir, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(f.data)
		return err
	}
	base := path.Base(p)
	var err error
	if !f.dir {
		err = write(base, f)
	} else {
		if !contents {
			err = write(base, f)
		}
		c.mu.Lock()
		var names []string
		for name := range c.files {
			if strings.HasPrefix(name, p+"/") || (p == "/" && name != "/") {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		entries := make([]*file, len(names))
		for i, name := range names {
			entries[i] = c.files[name]
		}
		c.mu.Unlock()
		for i, name := range names {
			rel := strings.TrimPrefix(strings.TrimPrefix(name, p), "/")
			if !contents {
				rel = base + "/" + rel
			}
			err = errors.Join(err, write(rel, entries[i]))
		}
	}
	if err = errors.Join(err, tw.Close()); err != nil {
		return nil, fmt.Errorf("container: stream out: %w", err)
	}
	return io.NopCloser(&buf), nil
}
