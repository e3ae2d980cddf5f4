package boshrel

import (
	"fmt"
	"os"
	"path/filepath"

	bireljob "github.com/cloudfoundry/bosh-cli/v7/release/job"
	bitemplate "github.com/cloudfoundry/bosh-cli/v7/templatescompiler"
	bierbrenderer "github.com/cloudfoundry/bosh-cli/v7/templatescompiler/erbrenderer"
	boshlog "github.com/cloudfoundry/bosh-utils/logger"
	biproperty "github.com/cloudfoundry/bosh-utils/property"
	boshsys "github.com/cloudfoundry/bosh-utils/system"
	boshuuid "github.com/cloudfoundry/bosh-utils/uuid"
)

// Renderer renders release jobs with templatescompiler as `bosh create-env` does.
type Renderer struct {
	FS       boshsys.FileSystem
	renderer bitemplate.JobListRenderer
}

func NewRenderer() *Renderer {
	logger := boshlog.NewLogger(boshlog.LevelNone)
	fs := boshsys.NewOsFileSystem(logger)
	runner := boshsys.NewExecCmdRunner(logger)
	erb := bierbrenderer.NewERBRenderer(fs, runner, logger)
	jr := bitemplate.NewJobRenderer(erb, fs, boshuuid.NewGenerator(), logger)
	return &Renderer{FS: fs, renderer: bitemplate.NewJobListRenderer(jr, logger)}
}

// Render renders every template (and monit) of job with the instance group
// job's properties (merged over the spec defaults by the ERB context), the
// instance group's and the manifest's global properties, into
// dest/<job>/... (the layout of /var/vcap/jobs/<job>/).
func (r *Renderer) Render(job *Job, ig InstanceGroup, ref JobRef, m *Manifest, dest string) (string, error) {
	rj, err := job.ReleaseJob(r.FS)
	if err != nil {
		return "", err
	}
	var jobProps *biproperty.Map
	if ref.Properties != nil {
		p, err := PropertyMap(ref.Properties)
		if err != nil {
			return "", err
		}
		jobProps = &p
	} else {
		// create-env's manifest parser leaves a job without `properties:`
		// nil, and the ERB context then merges global over instance group properties.
		jobProps = nil
	}
	igProps, err := PropertyMap(ig.Properties)
	if err != nil {
		return "", err
	}
	global, err := PropertyMap(m.Properties)
	if err != nil {
		return "", err
	}
	list, err := r.renderer.Render([]bireljob.Job{*rj}, map[string]*biproperty.Map{job.Name: jobProps}, igProps, global, m.Name, "")
	if err != nil {
		return "", err
	}
	defer list.DeleteSilently()
	out := filepath.Join(dest, job.Name)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	for _, rendered := range list.All() {
		if err := copyTree(rendered.Path(), out); err != nil {
			return "", fmt.Errorf("copying rendered %s: %w", job.Name, err)
		}
	}
	return out, nil
}

func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		t := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(t, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(t, b, info.Mode().Perm()|0o600)
	})
}
