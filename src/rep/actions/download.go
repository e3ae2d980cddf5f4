package actions

import (
	"context"
	"fmt"
	"strings"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/container"
)

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
		fmt.Fprintln(s.deps.Stdout, downloadedMsg(artifact, size))
	}
	return nil
}

// downloadedMsg is the reference's line after a download: with the size
// downloaded, or without one when a cached copy served.
func downloadedMsg(artifact string, size int64) string {
	if size == 0 {
		return "Downloaded " + artifact
	}
	return fmt.Sprintf("Downloaded %s (%s)", artifact, byteSize(size))
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
