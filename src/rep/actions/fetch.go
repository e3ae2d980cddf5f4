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
)

// ErrChecksumMismatch is wrapped by errors for artifacts whose checksum
// differs from the expected one.
var ErrChecksumMismatch = errors.New("checksum mismatch")

// The reference's errors for a cached dependency it cannot keep as a
// directory (cacheddownloader's FetchAsDirectory); the container then fails
// with CachedDependenciesFailed.
var (
	ErrMissingCacheKey     = errors.New("Not cacheable directory: cache key is missing")
	ErrMissingCacheHeaders = errors.New("Not cacheable directory: ETag and Last-Modified were missing from response")
)

// Downloader fetches artifacts over http(s), verifies their checksums and
// keeps them in an optional Cache.
type Downloader struct {
	Client *http.Client // nil = http.DefaultClient
	// Cache keeps artifacts that name a cache key or a checksum; nil = no
	// caching.
	Cache *Cache
	// Slots bounds the downloads running at once (nil: no bound).
	Slots Slots
}

// Artifact identifies what to download.
type Artifact struct {
	URL               string
	CacheKey          string
	ChecksumAlgorithm string // md5, sha1 or sha256 ("" = unchecked)
	ChecksumValue     string // hex
	// Dir marks a cached dependency, which the reference fetches as a
	// cached directory: it needs a cache key, and a download whose
	// response has neither ETag nor Last-Modified fails (whatever its
	// checksum) with ErrMissingCacheHeaders.
	Dir bool
}

// Fetch returns the artifact (a tgz, zip or tar) as a tar stream and the
// bytes downloaded: 0 when a cached copy served without a download (the
// reference then logs "Downloaded X" without a size).
//
// Only artifacts with a cache key are cached, as in the reference. A cached
// entry is used as it is when its checksum was verified or when it was
// downloaded or revalidated while the caller waited for another download of
// it (so many instances starting at once cost one GET); otherwise it is
// revalidated with a conditional GET (If-None-Match, If-Modified-Since). A
// response with neither a checksum to verify nor ETag/Last-Modified is not
// kept (and fails a cached dependency, see Artifact.Dir).
func (d *Downloader) Fetch(ctx context.Context, a Artifact) (io.ReadCloser, int64, error) {
	var rc io.ReadCloser
	var size int64
	err := d.fetch(ctx, a, func(got artifactFile) error {
		var err error
		rc, size, err = asTar(got.f, got.size, got.key == "")
		return err
	})
	return rc, size, err
}

// artifactFile is an artifact's archive, open at its start.
type artifactFile struct {
	f    *os.File
	size int64  // the bytes downloaded; 0 when a cached copy served
	key  string // its cache entry; "" when not kept (f is a file to remove)
}

// fetch gets the artifact as Fetch describes and hands it to use, which
// owns the file, while no other caller fetches the same cache entry.
func (d *Downloader) fetch(ctx context.Context, a Artifact, use func(artifactFile) error) error {
	u, err := url.ParseRequestURI(a.URL)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("download %s: unsupported scheme %q", a.URL, u.Scheme)
	}
	newHash, err := checksumHash(a.ChecksumAlgorithm, a.ChecksumValue)
	if err != nil {
		return fmt.Errorf("download %s: %w", a.URL, err)
	}
	if a.Dir && a.CacheKey == "" {
		return fmt.Errorf("download %s: %w", a.URL, ErrMissingCacheKey)
	}
	if d.Cache == nil || a.CacheKey == "" {
		got, err := d.download(ctx, a, newHash, entryMeta{}, func() (*os.File, error) { return os.CreateTemp("", "diego-download-") })
		if err != nil {
			return err
		}
		if a.Dir && !got.meta.revalidatable() {
			return notCacheableDir(a, got)
		}
		return use(artifactFile{f: got.f, size: got.size})
	}

	key := cacheKey(a.URL, a.CacheKey, a.ChecksumAlgorithm, a.ChecksumValue)
	since := d.Cache.generation()
	if !d.Cache.claim(ctx.Done(), key) {
		return fmt.Errorf("download %s: %w", a.URL, ctx.Err())
	}
	defer d.Cache.release(key)
	entry, ok := d.Cache.open(key, since)
	if ok && (entry.fresh || entry.meta.Checksummed) {
		return use(artifactFile{f: entry.f, key: key})
	}
	var validators entryMeta
	if ok {
		validators = entry.meta
	}
	got, err := d.download(ctx, a, newHash, validators, d.Cache.tempFile)
	if ok && (err != nil || !got.notModified) {
		entry.f.Close()
	}
	if err != nil {
		return err
	}
	if got.notModified {
		d.Cache.revalidated(key)
		return use(artifactFile{f: entry.f, key: key})
	}
	got.meta.Checksummed = newHash != nil
	if a.Dir && !got.meta.revalidatable() {
		d.Cache.drop(key)
		return notCacheableDir(a, got)
	}
	if !got.meta.Checksummed && !got.meta.revalidatable() {
		d.Cache.drop(key)
		return use(artifactFile{f: got.f, size: got.size})
	}
	kept, err := d.Cache.put(key, got.f.Name(), got.size, got.meta)
	if err != nil {
		got.f.Close()
		os.Remove(got.f.Name())
		return err
	}
	if !kept {
		key = ""
	}
	return use(artifactFile{f: got.f, size: got.size, key: key})
}

// notCacheableDir discards a cached dependency's download that came without
// ETag and Last-Modified and says why, as the reference fails it.
func notCacheableDir(a Artifact, got fetched) error {
	got.f.Close()
	os.Remove(got.f.Name())
	return fmt.Errorf("download %s: %w", a.URL, ErrMissingCacheHeaders)
}

// fetched is the result of one GET.
type fetched struct {
	f           *os.File // positioned at its start; nil when notModified
	size        int64
	meta        entryMeta // the response's validators
	notModified bool      // 304 to a conditional GET
}

// download writes the body of a GET of a.URL to a file from create and
// checks its checksum. With validators it makes the GET conditional.
func (d *Downloader) download(ctx context.Context, a Artifact, newHash func() hash.Hash, validators entryMeta, create func() (*os.File, error)) (fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		return fetched{}, fmt.Errorf("download %s: %w", a.URL, err)
	}
	if validators.ETag != "" {
		req.Header.Set("If-None-Match", validators.ETag)
	}
	if validators.LastModified != "" {
		req.Header.Set("If-Modified-Since", validators.LastModified)
	}
	client := d.Client
	if client == nil {
		client = http.DefaultClient
	}
	release, err := d.Slots.acquire(ctx)
	if err != nil {
		return fetched{}, fmt.Errorf("download %s: %w", a.URL, err)
	}
	defer release()
	resp, err := client.Do(req)
	if err != nil {
		return fetched{}, fmt.Errorf("download %s: %w", a.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && validators.revalidatable() {
		return fetched{notModified: true}, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fetched{}, fmt.Errorf("download %s: unexpected status %s", a.URL, resp.Status)
	}
	f, err := create()
	if err != nil {
		return fetched{}, fmt.Errorf("download %s: %w", a.URL, err)
	}
	fail := func(err error) (fetched, error) {
		f.Close()
		os.Remove(f.Name())
		return fetched{}, fmt.Errorf("download %s: %w", a.URL, err)
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
	meta := entryMeta{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	return fetched{f: f, size: size, meta: meta}, nil
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
// when remove, deletes) f. It passes size (the bytes downloaded) through.
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
		fi, err := f.Stat()
		if err != nil {
			closeFile()
			return nil, 0, fmt.Errorf("download: %w", err)
		}
		zr, err := zip.NewReader(f, fi.Size())
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
