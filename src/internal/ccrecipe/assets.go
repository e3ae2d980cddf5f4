package ccrecipe

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
	"sync"
	"time"
)

// Entry is one file of a .tgz, or a directory when Name ends in "/".
type Entry struct {
	Name string
	Mode int64
	Body []byte
}

// Tgz packs entries as a gzipped tar.
func Tgz(entries ...Entry) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.Name, Mode: e.Mode, Size: int64(len(e.Body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		if e.Name[len(e.Name)-1] == '/' {
			hdr.Typeflag, hdr.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.Body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DropletText is the content of app/droplet.txt in Droplet's droplet.
const DropletText = "a droplet shaped as the buildpack lifecycle's builder makes it\n"

// Lifecycle is a buildpack lifecycle bundle: cfapp (the multi-call
// program in ./cfapp, built static) as launcher and healthcheck.
func Lifecycle(cfapp []byte) ([]byte, error) {
	return Tgz(Entry{Name: "launcher", Mode: 0o755, Body: cfapp}, Entry{Name: "healthcheck", Mode: 0o755, Body: cfapp})
}

// Droplet is a droplet as the builder packs it: app/ (cfapp and
// droplet.txt), tmp/, logs/ and staging_info.yml naming the start command
// "./cfapp".
func Droplet(cfapp []byte) ([]byte, error) {
	return Tgz(Entry{Name: "app/", Mode: 0o755}, Entry{Name: "app/cfapp", Mode: 0o755, Body: cfapp},
		Entry{Name: "app/droplet.txt", Mode: 0o644, Body: []byte(DropletText)},
		Entry{Name: "tmp/", Mode: 0o755}, Entry{Name: "logs/", Mode: 0o755},
		Entry{Name: "staging_info.yml", Mode: 0o644, Body: []byte("detected_buildpack: binary\nstart_command: ./cfapp\n")})
}

// AssetServer serves a lifecycle bundle and a droplet over HTTP, as Cloud
// Controller's blobstore does, with ETags so caches revalidate, and counts
// the requests for each.
type AssetServer struct {
	LifecycleURL  string
	DropletURL    string
	DropletSHA256 string
	srv           *httptest.Server
	mu            sync.Mutex
	hits          map[string]int
}

// ServeAssets serves lifecycle at /lifecycle.tgz and droplet at
// /droplet.tgz on ln.
func ServeAssets(ln net.Listener, lifecycle, droplet []byte) *AssetServer {
	s := &AssetServer{hits: map[string]int{}}
	blobs := map[string][]byte{"/lifecycle.tgz": lifecycle, "/droplet.tgz": droplet}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := blobs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.mu.Unlock()
		sum := sha256.Sum256(b)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.Header().Set("Content-Type", "application/gzip")
		http.ServeContent(w, r, r.URL.Path, time.Time{}, bytes.NewReader(b))
	}))
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
	sum := sha256.Sum256(droplet)
	s.LifecycleURL, s.DropletURL = s.srv.URL+"/lifecycle.tgz", s.srv.URL+"/droplet.tgz"
	s.DropletSHA256 = hex.EncodeToString(sum[:])
	return s
}

// Hits is how many requests path ("/lifecycle.tgz", "/droplet.tgz") had.
func (s *AssetServer) Hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// Close stops the server.
func (s *AssetServer) Close() { s.srv.Close() }

// String names the server for failure messages.
func (s *AssetServer) String() string { return fmt.Sprintf("assets at %s", s.srv.URL) }
