package actions

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"code.cloudfoundry.org/bbs/models"
)

// uploadServer records what upload actions post; it fails the first
// failures requests with 500.
type uploadServer struct {
	*httptest.Server
	mu       sync.Mutex
	failures int
	requests []*http.Request
	bodies   []string
}

func newUploadServer(t *testing.T, failures int) *uploadServer {
	s := &uploadServer{failures: failures}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests = append(s.requests, r)
		s.bodies = append(s.bodies, string(b))
		if len(s.requests) <= s.failures {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestUploadWithProcessBackend(t *testing.T) {
	c := newProcessContainer(t)
	ctx := context.Background()
	payload := strings.Repeat("droplet bytes ", 1000)
	if err := c.StreamIn(ctx, "/tmp", strings.NewReader(string(makeTar(t, map[string]string{"droplet.tgz": payload})))); err != nil {
		t.Fatal(err)
	}
	md, sha := md5.Sum([]byte(payload)), sha256.Sum256([]byte(payload))

	tests := []struct {
		name       string
		failures   int
		from       string
		wantErr    string
		wantPosts  int
		wantStdout string
		wantStderr string
	}{
		{name: "uploads", from: "/tmp/droplet.tgz", wantPosts: 1, wantStdout: "Uploading droplet...\nUploaded droplet (13.7K)\n"},
		{name: "retries", failures: 2, from: "/tmp/droplet.tgz", wantPosts: 3, wantStdout: "Uploaded droplet (13.7K)\n"},
		{name: "gives up after 3", failures: 3, from: "/tmp/droplet.tgz", wantPosts: 3,
			wantErr: "Upload failed: Status code 500", wantStderr: "Failed to upload payload for droplet\n"},
		{name: "missing file", from: "/tmp/nope", wantErr: "Failed to establish stream from container for droplet", wantStderr: "Failed to establish stream from container for droplet\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newUploadServer(t, tt.failures)
			var out, errOut syncBuffer
			step, err := Build(models.WrapAction(&models.UploadAction{Artifact: "droplet", From: tt.from, To: srv.URL + "/v1/droplets/abc?cc_callback=x"}),
				Deps{Container: c, Stdout: &out, Stderr: &errOut})
			if err != nil {
				t.Fatal(err)
			}
			err = step.Run(ctx)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tt.wantStdout) || !strings.Contains(errOut.String(), tt.wantStderr) {
				t.Errorf("stdout %q, stderr %q", out.String(), errOut.String())
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if len(srv.requests) != tt.wantPosts {
				t.Fatalf("%d posts, want %d", len(srv.requests), tt.wantPosts)
			}
			for i, r := range srv.requests {
				if r.Method != http.MethodPost || r.URL.RequestURI() != "/v1/droplets/abc?cc_callback=x" || srv.bodies[i] != payload ||
					r.Header.Get("Content-Type") != "application/octet-stream" ||
					r.Header.Get("Content-MD5") != base64.StdEncoding.EncodeToString(md[:]) ||
					r.Header.Get("Content-Digest") != "sha-256=:"+base64.StdEncoding.EncodeToString(sha[:])+":" ||
					r.ContentLength != int64(len(payload)) {
					t.Errorf("post %d: %s %s %v (%d bytes)", i, r.Method, r.URL, r.Header, len(srv.bodies[i]))
				}
			}
		})
	}
}

func TestUploadBadURL(t *testing.T) {
	var errOut syncBuffer
	step, _ := Build(models.WrapAction(&models.UploadAction{Artifact: "x", From: "/a", To: "::"}), Deps{Container: newFakeContainer(nil), Stderr: &errOut})
	if err := step.Run(context.Background()); err == nil || errOut.String() != "Failed to parse URL for x\n" {
		t.Fatalf("err = %v, stderr %q", err, errOut.String())
	}
}
