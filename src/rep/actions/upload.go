package actions

import (
	"archive/tar"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"

	"code.cloudfoundry.org/bbs/models"
)

// The reference upload step's failure messages (" for ARTIFACT" appended
// when the action names one).
const (
	ErrEstablishStream = "Failed to establish stream from container"
	ErrReadTar         = "Failed to find first item in tar stream"
	ErrCreateTmpFile   = "Failed to create temp file"
	ErrCopyStreamToTmp = "Failed to copy stream contents into temp file"
	ErrParsingURL      = "Failed to parse URL"
	errUploadPayload   = "Failed to upload payload"
)

// UploadAttempts is how many times an upload is tried (the reference's 3).
const UploadAttempts = 3

// Uploader posts files to upload actions' URLs as the reference's
// uploader does: POST, Content-Type application/octet-stream, Content-MD5
// and Content-Digest (sha-256) headers, UploadAttempts tries.
type Uploader struct {
	Client *http.Client // nil = http.DefaultClient
	// TempDir holds the file between the container and the upload ("" =
	// the system's).
	TempDir string
	// Slots bounds the uploads running at once (nil: no bound).
	Slots Slots
}

// Upload posts the file at path to u and returns its size.
func (up *Uploader) Upload(ctx context.Context, path string, u *url.URL) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	md, sha := md5.New(), sha256.New()
	size, err := io.Copy(io.MultiWriter(md, sha), f)
	if err != nil {
		return 0, err
	}
	release, err := up.Slots.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	for attempt := 1; ; attempt++ {
		err = up.attempt(ctx, f, size, md, sha, u)
		if err == nil || ctx.Err() != nil || attempt == UploadAttempts {
			break
		}
	}
	if err != nil {
		return 0, err
	}
	return size, nil
}

func (up *Uploader) attempt(ctx context.Context, f *os.File, size int64, md, sha hash.Hash, u *url.URL) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), io.NopCloser(f))
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(md.Sum(nil)))
	req.Header.Set("Content-Digest", fmt.Sprintf("sha-256=:%s:", base64.StdEncoding.EncodeToString(sha.Sum(nil))))
	client := up.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 400 {
		return fmt.Errorf("Upload failed: Status code %d", resp.StatusCode) //nolint:staticcheck // the reference's text
	}
	return nil
}

// uploadStep streams the first file of `from` out of the container and
// uploads it to `to`.
type uploadStep struct {
	model *models.UploadAction
	deps  Deps
}

func (s *uploadStep) Run(ctx context.Context) error {
	if ctx.Err() != nil {
		return &CancelledError{}
	}
	s.emit("Uploading %s...\n", s.model.Artifact)
	u, err := url.ParseRequestURI(s.model.To)
	if err != nil {
		s.emitError(ErrParsingURL)
		return err
	}
	path, err := s.copyOut(ctx)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	size, err := s.deps.Uploader.Upload(ctx, path, u)
	if err != nil {
		if ctx.Err() != nil {
			return &CancelledError{}
		}
		s.emitError(errUploadPayload)
		return err
	}
	s.emit("Uploaded %s (%s)\n", s.model.Artifact, byteSize(size))
	return nil
}

// copyOut writes the first entry of the tar stream of `from` to a temp
// file and returns its path.
func (s *uploadStep) copyOut(ctx context.Context) (string, error) {
	fail := func(msg string, err error) (string, error) {
		if ctx.Err() != nil {
			return "", &CancelledError{}
		}
		s.emitError(msg)
		return "", &EmittableError{Msg: s.artifactErr(msg), Err: err}
	}
	rc, err := s.deps.Container.StreamOut(ctx, s.model.From)
	if err != nil {
		return fail(ErrEstablishStream, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		return fail(ErrReadTar, err)
	}
	f, err := os.CreateTemp(s.deps.Uploader.TempDir, "upload-")
	if err != nil {
		return fail(ErrCreateTmpFile, err)
	}
	_, err = io.Copy(f, tr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return fail(ErrCopyStreamToTmp, err)
	}
	return f.Name(), nil
}

func (s *uploadStep) emit(format string, a ...any) {
	if s.model.Artifact != "" {
		fmt.Fprintf(s.deps.Stdout, format, a...)
	}
}

func (s *uploadStep) artifactErr(msg string) string {
	if s.model.Artifact != "" {
		return msg + " for " + s.model.Artifact
	}
	return msg
}

func (s *uploadStep) emitError(msg string) {
	if s.model.Artifact != "" {
		fmt.Fprintln(s.deps.Stderr, s.artifactErr(msg))
	}
}
