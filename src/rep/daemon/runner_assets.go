package daemon

// The runner's assets: the cell's download cache, and what LRP instances
// and tasks download before they run (cached dependencies, image layers).

import (
	"context"
	"fmt"
	"sync"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/actions"
	"github.com/diego-go/diego/src/rep/container"
)

// newTransfers returns the downloader (with the cell's download cache at
// cfg.CachePath) and uploader every LRP instance and task uses.
func newTransfers(cfg Settings) (*actions.Downloader, *actions.Uploader, error) {
	cache, err := actions.NewCache(cfg.CachePath, cfg.MaxCacheSizeInBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("rep: opening the download cache %s (cache_path): %w", cfg.CachePath, err)
	}
	return &actions.Downloader{Cache: cache, Slots: actions.NewSlots(cfg.MaxConcurrentDownloads)},
		&actions.Uploader{Slots: actions.NewSlots(cfg.MaxConcurrentUploads)}, nil
}

// transferDeps gives deps the cell's downloader and uploader.
func (d *Daemon) transferDeps(deps actions.Deps) actions.Deps {
	deps.Downloader, deps.Uploader = d.downloader, d.uploader
	return deps
}

// assets is what a container gets besides its action, as the reference's
// executor prepares it: the cached dependencies (shared image layers
// first) extracted once on the cell and bind-mounted read-only, fetched
// before the container is created; those whose `to` is the container's
// root, which are streamed in once it exists (fetch); and the exclusive
// image layers, download actions run in parallel before then.
type assets struct {
	mounts   []container.BindMount
	streamed []*models.CachedDependency
	then     *models.Action
}

// fetch streams the cached dependencies no mount covers into the container.
func (a assets) fetch(ctx context.Context, deps actions.Deps) error {
	return actions.FetchDependencies(ctx, deps, a.streamed)
}

// lrpAssets fetches a desired LRP's cached dependencies for the instance
// guid before its container exists. It returns the assets, the desired LRP
// whose setup to run (after the exclusive layers' downloads), or the
// reason the instance crashes (actions.CachedDependenciesFailed).
func (d *Daemon) lrpAssets(ctx context.Context, guid string, deps actions.Deps, desired *models.DesiredLRP) (assets, *models.DesiredLRP, error) {
	a, err := d.mountAssets(ctx, guid, deps, desired.ImageLayers, desired.LegacyDownloadUser, desired.CachedDependencies, desired.Setup)
	cp := *desired
	cp.Setup, cp.CachedDependencies, cp.ImageLayers = a.then, nil, nil
	return a, &cp, err
}

// taskAssets is lrpAssets for a task: its exclusive image layers are
// downloaded before its action.
func (d *Daemon) taskAssets(ctx context.Context, guid string, deps actions.Deps, def *models.TaskDefinition) (assets, *models.TaskDefinition, error) {
	a, err := d.mountAssets(ctx, guid, deps, def.ImageLayers, def.LegacyDownloadUser, def.CachedDependencies, def.Action)
	cp := *def
	cp.Action, cp.CachedDependencies, cp.ImageLayers = a.then, nil, nil
	return a, &cp, err
}

func (d *Daemon) mountAssets(ctx context.Context, guid string, deps actions.Deps, layers []*models.ImageLayer, user string, cds []*models.CachedDependency, then *models.Action) (assets, error) {
	cds, then = withImageLayers(layers, user, cds, then)
	mount, streamed := actions.Mountable(cds)
	m, err := actions.MountDependencies(ctx, d.transferDeps(deps), mount)
	if err != nil {
		return assets{}, err
	}
	d.dependencies.hold(guid, m)
	return assets{mounts: m.Mounts, streamed: streamed, then: then}, nil
}

// withImageLayers is the BBS models' V3-to-V2 conversion the reference rep
// applies to every run request: shared layers become cached dependencies
// (cached by digest, ahead of the others) and exclusive layers parallel
// download actions (cached by digest, verified against it) before then.
// Layering modes that make a layer the rootfs (garden's two-layer
// preloaded+layer) do not apply: no backend here layers root filesystems.
func withImageLayers(layers []*models.ImageLayer, user string, cds []*models.CachedDependency, then *models.Action) ([]*models.CachedDependency, *models.Action) {
	ls := models.ImageLayers(layers)
	return append(ls.ToCachedDependencies(), cds...), ls.ToDownloadActions(user, then)
}

// mountedDependencies holds each container's extracted cached
// dependencies until the container is destroyed: the cache removes an
// extracted directory only when no container holds it.
type mountedDependencies struct {
	mu   sync.Mutex
	held map[string]*actions.Mounted // by container handle
}

func (m *mountedDependencies) hold(guid string, deps *actions.Mounted) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.held == nil {
		m.held = map[string]*actions.Mounted{}
	}
	m.held[guid].Release() // a previous container's, never destroyed
	m.held[guid] = deps
}

// release gives back the dependencies of the destroyed container guid.
func (m *mountedDependencies) release(guid string) {
	m.mu.Lock()
	deps := m.held[guid]
	delete(m.held, guid)
	m.mu.Unlock()
	deps.Release()
}
