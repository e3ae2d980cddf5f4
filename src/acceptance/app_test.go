package acceptance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/ccrecipe"
)

// serveSampleApp serves the sample app .tgz on listen: the prebuilt one at
// tgzPath when set (config app_tgz), else it builds src/cmd/sample-app
// (static) and packs it as a .tgz holding "sample-app". It returns the URL,
// a cache key naming this build, and a stop function.
func serveSampleApp(listen, tgzPath string) (url, cacheKey string, stop func(), err error) {
	var tgz []byte
	if tgzPath != "" {
		if tgz, err = os.ReadFile(tgzPath); err != nil {
			return "", "", nil, fmt.Errorf("reading app_tgz: %w", err)
		}
	} else if tgz, err = buildSampleApp(); err != nil {
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

// buildSampleApp builds src/cmd/sample-app (static) and packs it as a
// .tgz holding the executable sample-app.
func buildSampleApp() ([]byte, error) {
	bin, err := buildStatic("./src/cmd/sample-app")
	if err != nil {
		return nil, err
	}
	return ccrecipe.Tgz(ccrecipe.Entry{Name: "sample-app", Mode: 0o755, Body: bin})
}

// buildStatic builds the main package pkg (a path from the module root)
// with CGO_ENABLED=0, so it runs in any rootfs, and returns the binary.
func buildStatic(pkg string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "acceptance-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bin")
	if err := goBuild([]string{"CGO_ENABLED=0"}, "-trimpath", "-ldflags=-s -w", "-o", bin, pkg); err != nil {
		return nil, err
	}
	return os.ReadFile(bin)
}

// TestServeSampleAppTgz: with app_tgz the suite serves that file as it is
// (no Go toolchain needed), under a cache key naming its content.
func TestServeSampleAppTgz(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sample-app.tgz")
	want := []byte("not really a tgz, served as it is")
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	url, key, stop, err := serveSampleApp("127.0.0.1:0", path)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
		t.Fatalf("GET %s: %d %q %v, want %q", url, resp.StatusCode, got, err, want)
	}
	sum := sha256.Sum256(want)
	if key != "acceptance-sample-app-"+hex.EncodeToString(sum[:8]) {
		t.Errorf("cache key %q does not name the content", key)
	}
	if _, _, _, err := serveSampleApp("127.0.0.1:0", path+".missing"); err == nil || !strings.Contains(err.Error(), "app_tgz") {
		t.Errorf("missing app_tgz: err = %v", err)
	}
}
