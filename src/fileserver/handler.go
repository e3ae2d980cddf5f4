// Package fileserver serves a directory of lifecycle bundles under
// /v1/static/ with sha256 ETags, Last-Modified, conditional and range GETs.
package fileserver

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// StaticPrefix is the reference's only route: files under the static
// directory are served below it.
const StaticPrefix = "/v1/static/"

// Handler serves the files under dir (not directories: they are never
// listed) at StaticPrefix. Each response carries ETag "<sha256 hex of the
// content>" and Last-Modified, so a client can verify what it got and
// revalidate it; If-None-Match, If-Modified-Since and Range are honoured.
type Handler struct {
	root string

	mu   sync.Mutex
	sums map[string]checksum // by cleaned URL path
}

// checksum is a file's sha256, valid while its size and mtime are unchanged.
type checksum struct {
	size  int64
	mtime time.Time
	hex   string
}

// NewHandler serves the static directory dir.
func NewHandler(dir string) *Handler {
	return &Handler{root: dir, sums: map[string]checksum{}}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rel, ok := strings.CutPrefix(r.URL.Path, StaticPrefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if hasDotDot(rel) {
		http.Error(w, "invalid URL path", http.StatusBadRequest)
		return
	}
	clean := path.Clean("/" + rel)
	f, err := os.Open(filepath.Join(h.root, filepath.FromSlash(clean)))
	if err != nil {
		http.Error(w, "File not found: "+path.Base(clean), http.StatusNotFound)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		http.Error(w, "Cannot stat file: "+path.Base(clean), http.StatusInternalServerError)
		return
	}
	if info.IsDir() || !info.Mode().IsRegular() {
		http.Error(w, "Unauthorized to list the directory", http.StatusUnauthorized)
		return
	}
	sum, err := h.sha256(clean, f, info)
	if err != nil {
		http.Error(w, "Error calculating checksum of file", http.StatusInternalServerError)
		return
	}
	w.Header().Set("ETag", `"`+sum+`"`)
	http.ServeContent(w, r, info.Name(), info.ModTime(), f)
}

// sha256 returns the file's checksum, computing it once per size and mtime
// and leaving f at its start.
func (h *Handler) sha256(key string, f *os.File, info os.FileInfo) (string, error) {
	h.mu.Lock()
	c, ok := h.sums[key]
	h.mu.Unlock()
	if ok && c.size == info.Size() && c.mtime.Equal(info.ModTime()) {
		return c.hex, nil
	}
	d := sha256.New()
	if _, err := io.Copy(d, f); err != nil {
		return "", fmt.Errorf("checksum %s: %w", key, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("checksum %s: %w", key, err)
	}
	c = checksum{size: info.Size(), mtime: info.ModTime(), hex: hex.EncodeToString(d.Sum(nil))}
	h.mu.Lock()
	h.sums[key] = c
	h.mu.Unlock()
	return c.hex, nil
}

// hasDotDot reports whether p has a ".." element (with / or \ separators).
func hasDotDot(p string) bool {
	for _, e := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if e == ".." {
			return true
		}
	}
	return false
}
