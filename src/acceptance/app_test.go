package acceptance

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// serveSampleApp builds src/cmd/sample-app (static), packs it as a .tgz
// holding "sample-app" and serves it on listen. It returns the URL, a
// cache key naming this build, and a stop function.
func serveSampleApp(listen string) (url, cacheKey string, stop func(), err error) {
	root, err := moduleRoot()
	if err != nil {
		return "", "", nil, err
	}
	dir, err := os.MkdirTemp("", "acceptance-app-")
	if err != nil {
		return "", "", nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "sample-app")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./src/cmd/sample-app")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", "", nil, fmt.Errorf("building the sample app: %w\n%s", err, out)
	}
	tgz, err := tarGz(bin)
	if err != nil {
		return "", "", nil, err
	}
	sum := sha256.Sum256(tgz)
	cacheKey = "acceptance-sample-app-" + hex.EncodeToString(sum[:8])

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return "", "", nil, fmt.Errorf("serving the sample app on %s: %w", listen, err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/gzip")
		http.ServeContent(w, r, "sample-app.tgz", time.Time{}, bytes.NewReader(tgz))
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	return srv.URL + "/sample-app.tgz", cacheKey, srv.Close, nil
}

// tarGz packs the file at path as a gzipped tar with one executable entry.
func tarGz(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	hdr := &tar.Header{Name: filepath.Base(path), Mode: 0o755, Size: int64(len(b)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(b); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
