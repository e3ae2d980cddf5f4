package actions

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/each"
	"github.com/diego-go/diego/src/rep/container"
)

// CachedDependenciesFailed is the reference's failure reason (an LRP
// instance's crash reason, a task's failure reason) when a cached
// dependency cannot be downloaded.
const CachedDependenciesFailed = "failed to download cached artifacts"

// Mountable splits cached dependencies into those bind-mounted at their
// `to` (MountDependencies) and those whose `to` is the container's root
// (a shared image layer at "/"), which no mount can cover and which are
// streamed in (FetchDependencies).
func Mountable(cds []*models.CachedDependency) (mounted, streamed []*models.CachedDependency) {
	for _, cd := range cds {
		if cd == nil {
			continue
		}
		if filepath.Clean("/"+cd.To) == "/" {
			streamed = append(streamed, cd)
		} else {
			mounted = append(mounted, cd)
		}
	}
	return mounted, streamed
}

// Mounted is a container's cached dependencies, extracted on the cell.
type Mounted struct {
	// Mounts are the read-only bind mounts for container.Spec.BindMounts.
	Mounts  []container.BindMount
	mu      sync.Mutex
	release []func()
}

// Release gives the dependencies back once their container is destroyed.
func (m *Mounted) Release() {
	if m == nil {
		return
	}
	m.mu.Lock()
	rs := m.release
	m.release = nil
	m.mu.Unlock()
	for _, r := range rs {
		r()
	}
}

// MountDependencies fetches a container's cached dependencies before it is
// created, as the reference's executor does: all at once through deps'
// Downloader (no Container needed), each extracted once on the cell
// (Downloader.FetchDir) and bind-mounted read-only at its `to`. It logs
// and fails as FetchDependencies does; on failure it holds nothing.
func MountDependencies(ctx context.Context, deps Deps, cds []*models.CachedDependency) (*Mounted, error) {
	deps = deps.withDefaults()
	m := &Mounted{Mounts: make([]container.BindMount, len(cds)), release: make([]func(), 0, len(cds))}
	err := fetchAll(ctx, deps, cds, func(ctx context.Context, i int) (int64, error) {
		cd := cds[i]
		dir, size, release, err := deps.Downloader.FetchDir(ctx, artifactOf(cd))
		if err != nil {
			return 0, err
		}
		m.mu.Lock()
		m.release = append(m.release, release)
		m.mu.Unlock()
		m.Mounts[i] = container.BindMount{HostPath: dir, ContainerPath: filepath.Clean("/" + cd.To), ReadOnly: true}
		return size, nil
	})
	if err != nil {
		m.Release()
		return nil, err
	}
	mounts := m.Mounts[:0]
	for _, bm := range m.Mounts {
		if bm.HostPath != "" {
			mounts = append(mounts, bm)
		}
	}
	m.Mounts = mounts
	return m, nil
}

// FetchDependencies downloads a container's cached dependencies, all at
// once, through deps' Downloader (and so its cache) and streams each into
// the container at its `to`, before setup runs. Like the reference it logs
// "Downloading NAME...", "Downloaded NAME (SIZE)" ("Downloaded NAME" when
// the cached copy served) or "Downloading NAME failed" for named ones; the
// first failure cancels the others and is returned as an EmittableError
// saying CachedDependenciesFailed.
func FetchDependencies(ctx context.Context, deps Deps, cds []*models.CachedDependency) error {
	deps = deps.withDefaults()
	return fetchAll(ctx, deps, cds, func(ctx context.Context, i int) (int64, error) {
		tarStream, size, err := deps.Downloader.Fetch(ctx, artifactOf(cds[i]))
		if err != nil {
			return 0, err
		}
		defer tarStream.Close()
		// The reference bind-mounts the extracted dependency from the
		// host: what is streamed in belongs to the container's root.
		if err := container.StreamInAs(ctx, deps.Container, "", cds[i].To, tarStream); err != nil {
			return 0, fmt.Errorf("copying into the container: %w", err)
		}
		return size, nil
	})
}

func artifactOf(cd *models.CachedDependency) Artifact {
	return Artifact{URL: cd.From, CacheKey: cd.CacheKey, ChecksumAlgorithm: cd.ChecksumAlgorithm, ChecksumValue: cd.ChecksumValue, Dir: true}
}

// fetchAll runs fetch for every dependency at once, with the reference's
// log lines around each; the first failure cancels the others.
func fetchAll(ctx context.Context, deps Deps, cds []*models.CachedDependency, fetch func(context.Context, int) (int64, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var first error
	each.Parallel(len(cds), func(i int) error {
		if cds[i] == nil {
			return nil
		}
		err := logFetch(ctx, deps.Stdout, cds[i], func() (int64, error) { return fetch(ctx, i) })
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

func logFetch(ctx context.Context, out io.Writer, cd *models.CachedDependency, fetch func() (int64, error)) error {
	if cd.Name != "" {
		fmt.Fprintf(out, "Downloading %s...\n", cd.Name)
	}
	size, err := fetch()
	if err != nil {
		if cd.Name != "" && ctx.Err() == nil {
			fmt.Fprintf(out, "Downloading %s failed\n", cd.Name)
		}
		return fmt.Errorf("cached dependency %s: %w", cd.CacheKey, err)
	}
	if cd.Name != "" {
		fmt.Fprintln(out, downloadedMsg(cd.Name, size))
	}
	return nil
}
