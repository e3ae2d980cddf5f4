package actions

import (
	"context"
	"fmt"
	"sync"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/each"
	"github.com/diego-go/diego/src/rep/container"
)

// CachedDependenciesFailed is the reference's failure reason (an LRP
// instance's crash reason, a task's failure reason) when a cached
// dependency cannot be downloaded.
const CachedDependenciesFailed = "failed to download cached artifacts"

// FetchDependencies downloads a container's cached dependencies, all at
// once, through deps' Downloader (and so its cache) and streams each into
// the container at its `to`, before setup runs. Like the reference it logs
// "Downloading NAME...", "Downloaded NAME (SIZE)" ("Downloaded NAME" when
// the cached copy served) or "Downloading NAME failed" for named ones; the
// first failure cancels the others and is returned as an EmittableError
// saying CachedDependenciesFailed.
func FetchDependencies(ctx context.Context, deps Deps, cds []*models.CachedDependency) error {
	deps = deps.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var first error
	each.Parallel(len(cds), func(i int) error {
		err := fetchDependency(ctx, deps, cds[i])
		if err != nil {
			once.Do(func() { first = err })
			cancel()
		}
		return err
	})
	if first != nil {
		return &EmittableError{Msg: CachedDependenciesFailed, Err: first}
	}
	return nil
}

func fetchDependency(ctx context.Context, deps Deps, cd *models.CachedDependency) error {
	if cd == nil {
		return nil
	}
	if cd.Name != "" {
		fmt.Fprintf(deps.Stdout, "Downloading %s...\n", cd.Name)
	}
	failed := func(err error) error {
		if cd.Name != "" && ctx.Err() == nil {
			fmt.Fprintf(deps.Stdout, "Downloading %s failed\n", cd.Name)
		}
		return fmt.Errorf("cached dependency %s: %w", cd.CacheKey, err)
	}
	tarStream, size, err := deps.Downloader.Fetch(ctx, Artifact{
		URL: cd.From, CacheKey: cd.CacheKey, ChecksumAlgorithm: cd.ChecksumAlgorithm, ChecksumValue: cd.ChecksumValue,
	})
	if err != nil {
		return failed(err)
	}
	defer tarStream.Close()
	// The reference bind-mounts the extracted dependency from the host:
	// what is streamed in belongs to the container's root, not its user.
	if err := container.StreamInAs(ctx, deps.Container, "", cd.To, tarStream); err != nil {
		return failed(fmt.Errorf("copying into the container: %w", err))
	}
	if cd.Name != "" {
		fmt.Fprintln(deps.Stdout, downloadedMsg(cd.Name, size))
	}
	return nil
}
