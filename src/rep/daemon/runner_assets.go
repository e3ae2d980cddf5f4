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
	return &actions.Downloader{Cache: cache}, &actions.Uploader{}, nil
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
	if len(desired.ImageLayers) == 0 && len(desired.CachedDependencies) == 0 {
		return desired, nil
	}
	cp := *desired
	cp.CachedDependencies, cp.Setup = withImageLayers(desired.ImageLayers, desired.LegacyDownloadUser, desired.CachedDependencies, desired.Setup)
	cp.ImageLayers = nil
	if err := actions.FetchDependencies(ctx, d.transferDeps(deps), cp.CachedDependencies); err != nil {
		return nil, err
	}
	return &cp, nil
}

// taskAssets is lrpAssets for a task: its exclusive image layers are
// downloaded before its action.
func (d *Daemon) taskAssets(ctx context.Context, deps actions.Deps, def *models.TaskDefinition) (*models.TaskDefinition, error) {
	if len(def.ImageLayers) == 0 && len(def.CachedDependencies) == 0 {
		return def, nil
	}
	cp := *def
	cp.CachedDependencies, cp.Action = withImageLayers(def.ImageLayers, def.LegacyDownloadUser, def.CachedDependencies, def.Action)
	cp.ImageLayers = nil
	if err := actions.FetchDependencies(ctx, d.transferDeps(deps), cp.CachedDependencies); err != nil {
		return nil, err
	}
	return &cp, nil
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
