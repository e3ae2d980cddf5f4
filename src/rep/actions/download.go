package actions

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/container"
)

// ErrChecksumMismatch is wrapped by errors for artifacts whose checksum
// differs from the expected one.
var ErrChecksumMismatch = errors.New("checksum mismatch")

// Downloader fetches artifacts over http(s), verifies their checksums and
// keeps them in an optional Cache.
type Downloader struct {
	Client *http.Client // nil = http.DefaultClient
	// Cache keeps artifacts that name a cache key or a checksum; nil = no
	// caching.
	Cache *Cache
}

// Artifact identifies what to download.
type Artifact struct {
	URL               string
	CacheKey          string
	ChecksumAlgorithm string // md5, sha1 or sha256 ("" = unchecked)
	ChecksumValue     string // hex
}

// Fetch returns the artifact (a tgz, zip or tar) as a tar stream and the
// size of what was downloaded or read from the cache.
func (d *Downloader) Fetch(ctx context.Context, a Artifact) (io.ReadCloser, int64, error) {
	u, err := url.ParseRequestURI(a.URL)
	if err != nil {
		return nil, 0, fmt.Errorf("download: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, 0, fmt.Errorf("download %s: unsupported scheme %q", a.URL, u.Scheme)
	}
	newHash, err := checksumHash(a.ChecksumAlgorithm, a.ChecksumValue)
	if err != nil {
		return nil, 0, fmt.Errorf("download %s: %w", a.URL, err)
	}
	if d.Cache == nil || (a.CacheKey == "" && newHash == nil) {
		f, size, err := d.download(ctx, a, newHash, func() (*os.File, error) { return os.CreateTemp("", "diego-download-") })
		if err != nil {
			return nil, 0, err
		}
		return asTar(f, size, true)
	}

	key := cacheKey(a.URL, a.CacheKey, a.ChecksumAlgorithm, a.ChecksumValue)
	for {
		if f, size, ok := d.Cache.open(key); ok {
			return asTar(f, size, false)
		}
		if d.Cache.claim(key) {
			break
		}
	}
	defer d.Cache.release(key)
	f, size, err := d.download(ctx, a, newHash, d.Cache.tempFile)
	if err != nil {
		return nil, 0, err
	}
	kept, err := d.Cache.put(key, f.Name(), size)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, err
	}
	return asTar(f, size, !kept)
}

// download writes the body of a GET of a.URL to the temp file and checks
// its checksum. The returned file is positioned at its start.
func (d *Downloader) download(ctx context.Context, a Artifact, newHash func() hash.Hash, create func() (*os.File, error)) (*os.File, int64, error) {
	f, err := create()
	if err != nil {
		return nil, 0, fmt.Errorf("download %s: %w", a.URL, err)
	}
	fail := func(err error) (*os.File, int64, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, fmt.Errorf("download %s: %w", a.URL, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		return fail(err)
	}
	client := d.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail(fmt.Errorf("unexpected status %s", resp.Status))
	}
	var w io.Writer = f
	var h hash.Hash
	if newHash != nil {
		h = newHash()
		w = io.MultiWriter(f, h)
	}
	size, err := io.Copy(w, resp.Body)
	if err != nil {
		return fail(err)
	}
	if resp.ContentLength >= 0 && size != resp.ContentLength {
		return fail(fmt.Errorf("got %d bytes, expected %d", size, resp.ContentLength))
	}
	if h != nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(a.ChecksumValue) {
			return fail(fmt.Errorf("%w (%s): expected %s, got %s", ErrChecksumMismatch, strings.ToLower(a.ChecksumAlgorithm), strings.ToLower(a.ChecksumValue), got))
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	return f, size, nil
}

func checksumHash(algo, value string) (func() hash.Hash, error) {
	if algo == "" && value == "" {
		return nil, nil
	}
	if value == "" {
		return nil, fmt.Errorf("checksum algorithm %q without a checksum value", algo)
	}
	switch strings.ToLower(algo) {
	case "md5":
		return md5.New, nil
	case "sha1":
		return sha1.New, nil
	case "sha256":
		return sha256.New, nil
	case "":
		return nil, errors.New("checksum value without a checksum algorithm")
	}
	return nil, fmt.Errorf("unsupported checksum algorithm %q", algo)
}

// asTar wraps the archive in f as a tar stream; closing it closes (and,
// when remove, deletes) f.
func asTar(f *os.File, size int64, remove bool) (io.ReadCloser, int64, error) {
	closeFile := func() error {
		err := f.Close()
		if remove {
			os.Remove(f.Name())
		}
		return err
	}
	var head [512]byte
	n, _ := io.ReadFull(f, head[:])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		closeFile()
		return nil, 0, fmt.Errorf("download: %w", err)
	}
	switch {
	case n >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		zr, err := gzip.NewReader(f)
		if err != nil {
			closeFile()
			return nil, 0, fmt.Errorf("download: %w", err)
		}
		return &readCloser{Reader: zr, close: closeFile}, size, nil
	case n >= 4 && (bytes.Equal(head[:4], []byte("PK\x03\x04")) || bytes.Equal(head[:4], []byte("PK\x05\x06"))):
		zr, err := zip.NewReader(f, size)
		if err != nil {
			closeFile()
			return nil, 0, fmt.Errorf("download: zip: %w", err)
		}
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(zipToTar(zr, pw)) }()
		return &readCloser{Reader: pr, close: func() error { pr.Close(); return closeFile() }}, size, nil
	case n >= 262 && bytes.Equal(head[257:262], []byte("ustar")):
		return &readCloser{Reader: f, close: closeFile}, size, nil
	}
	closeFile()
	return nil, 0, errors.New("download: artifact is not a tgz, zip or tar archive")
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }

func zipToTar(zr *zip.Reader, w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, zf := range zr.File {
		fi := zf.FileInfo()
		hdr, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return fmt.Errorf("zip %s: %w", zf.Name, err)
		}
		hdr.Name = zf.Name
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("zip %s: %w", zf.Name, err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := io.ReadAll(io.LimitReader(rc, 4096))
			if err != nil {
				rc.Close()
				return fmt.Errorf("zip %s: %w", zf.Name, err)
			}
			hdr.Linkname, hdr.Size = string(target), 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			rc.Close()
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.Copy(tw, rc); err != nil {
				rc.Close()
				return fmt.Errorf("zip %s: %w", zf.Name, err)
			}
		}
		rc.Close()
	}
	return tw.Close()
}

// downloadStep fetches an artifact and streams it into the container.
type downloadStep struct {
	model *models.DownloadAction
	deps  Deps
}

func (s *downloadStep) Run(ctx context.Context) error {
	if ctx.Err() != nil {
		return &CancelledError{}
	}
	artifact := s.model.Artifact
	if artifact != "" {
		fmt.Fprintf(s.deps.Stdout, "Downloading %s...\n", artifact)
	}
	tarStream, size, err := s.deps.Downloader.Fetch(ctx, Artifact{
		URL:               s.model.From,
		CacheKey:          s.model.CacheKey,
		ChecksumAlgorithm: s.model.ChecksumAlgorithm,
		ChecksumValue:     s.model.ChecksumValue,
	})
	if err != nil {
		if ctx.Err() != nil {
			return &CancelledError{}
		}
		msg := "Downloading failed"
		if artifact != "" {
			msg = fmt.Sprintf("Downloading %s failed", artifact)
		}
		fmt.Fprintln(s.deps.Stderr, msg)
		return &EmittableError{Msg: msg, Err: err}
	}
	defer tarStream.Close()
	if err := container.StreamInAs(ctx, s.deps.Container, s.model.User, s.model.To, tarStream); err != nil {
		if ctx.Err() != nil {
			return &CancelledError{}
		}
		msg := fmt.Sprintf("Copying into the container failed: %v", err)
		if artifact != "" {
			msg = fmt.Sprintf("Copying %s into the container failed: %v", artifact, err)
		}
		fmt.Fprintln(s.deps.Stderr, msg)
		return &EmittableError{Msg: msg, Err: err}
	}
	if artifact != "" {
		fmt.Fprintf(s.deps.Stdout, "Downloaded %s (%s)\n", artifact, byteSize(size))
	}
	return nil
}

// byteSize formats n like the reference's progress lines: 512B, 1.5K, 12M.
func byteSize(n int64) string {
	units := []string{"B", "K", "M", "G", "T"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	s := strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0")
	return s + units[i]
}
