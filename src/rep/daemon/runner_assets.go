package daemon

// The runner's assets: the cell's download cache, and what LRP instances
// and tasks download before they run (cached dependencies, image layers).

import (
	"context"
	"fmt"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/actions"
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

// lrpAssets prepares a desired LRP's container as the reference does
// before setup: its shared image layers and cached dependencies are
// downloaded (through the cell's cache) into the container, and its
// exclusive image layers become download actions run, in parallel, before
// its setup. It returns the desired LRP whose setup and action to run, or
// the reason the instance crashes (actions.CachedDependenciesFailed).
func (d *Daemon) lrpAssets(ctx context.Context, deps actions.Deps, desired *models.DesiredLRP) (*models.DesiredLRP, error) {
	cp := *desired
	var err error
	cp.Setup, err = d.fetchAssets(ctx, deps, desired.ImageLayers, desired.LegacyDownloadUser, desired.CachedDependencies, desired.Setup)
	cp.CachedDependencies, cp.ImageLayers = nil, nil // downloaded
	return &cp, err
}

// taskAssets is lrpAssets for a task: its exclusive image layers are
// downloaded before its action.
func (d *Daemon) taskAssets(ctx context.Context, deps actions.Deps, def *models.TaskDefinition) (*models.TaskDefinition, error) {
	cp := *def
	var err error
	cp.Action, err = d.fetchAssets(ctx, deps, def.ImageLayers, def.LegacyDownloadUser, def.CachedDependencies, def.Action)
	cp.CachedDependencies, cp.ImageLayers = nil, nil // downloaded
	return &cp, err
}

// fetchAssets downloads the shared layers and cached dependencies into the
// container and returns then preceded by the exclusive layers' downloads.
func (d *Daemon) fetchAssets(ctx context.Context, deps actions.Deps, layers []*models.ImageLayer, user string, cds []*models.CachedDependency, then *models.Action) (*models.Action, error) {
	cds, then = withImageLayers(layers, user, cds, then)
	if err := actions.FetchDependencies(ctx, d.transferDeps(deps), cds); err != nil {
		return nil, err
	}
	return then, nil
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
