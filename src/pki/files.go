package pki

// PEM files on disk: reading them with errors that name the file and its
// role, writing them atomically with private keys kept to their owner.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// WriteFiles writes each file (base name to contents) into dir, creating dir
// if needed. Private keys (a ".key" name or a PEM private key) get mode 0600,
// everything else 0644. Each file is replaced atomically.
func WriteFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pki: creating directory %s: %w", dir, err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
			return fmt.Errorf("pki: invalid file name %q: must be a plain base name", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		data := files[name]
		mode := fs.FileMode(0o644)
		if isPrivateKey(name, data) {
			mode = 0o600
		}
		if err := writeAtomic(filepath.Join(dir, name), data, mode); err != nil {
			return err
		}
	}
	return nil
}

func isPrivateKey(name string, data []byte) bool {
	return strings.HasSuffix(name, ".key") || bytes.Contains(data, []byte("PRIVATE KEY-----"))
}

// writeAtomic writes data to a temporary file next to path and renames it
// into place, so readers never see a half-written certificate or key.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	cleanup := func() { _ = os.Remove(tmp.Name()) }
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		cleanup()
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		cleanup()
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		cleanup()
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		cleanup()
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	return nil
}

// readError is a failure to read a file, as opposed to a problem with its contents.
type readError struct {
	what, path string
	err        error
}

func (e *readError) Error() string { return fmt.Sprintf("reading %s %s: %v", e.what, e.path, e.err) }
func (e *readError) Unwrap() error { return e.err }

// readCertAndKey reads a PEM certificate file and its key file; prefix
// qualifies both in errors ("CA " gives "reading CA key file ...").
func readCertAndKey(prefix, certFile, keyFile string) (certPEM, keyPEM []byte, err error) {
	if certPEM, err = readFile(prefix+"certificate file", certFile); err != nil {
		return nil, nil, err
	}
	if keyPEM, err = readFile(prefix+"key file", keyFile); err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
}

// readFile reads path, describing a failure as "reading <what> <path>: <cause>".
func readFile(what, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &readError{what: what, path: path, err: err}
	}
	return data, nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("pki: %w", err)
	}
}
