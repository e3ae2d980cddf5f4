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

// ERB is the bosh CLI's ERB renderer (erbrenderer, which execs ruby) on
// the OS file system, with a silent logger.
type ERB struct {
	FS       boshsys.FileSystem
	Renderer bierbrenderer.ERBRenderer
	Logger   boshlog.Logger
}

// NewERB returns the bosh CLI's ERB renderer.
func NewERB() ERB {
	logger := boshlog.NewLogger(boshlog.LevelNone)
	fs := boshsys.NewOsFileSystem(logger)
	return ERB{FS: fs, Renderer: bierbrenderer.NewERBRenderer(fs, boshsys.NewExecCmdRunner(logger), logger), Logger: logger}
}

// NewRenderer returns a Renderer on the bosh CLI's ERB renderer.
func NewRenderer() *Renderer {
	erb := NewERB()
	jr := bitemplate.NewJobRenderer(erb.Renderer, erb.FS, boshuuid.NewGenerator(), erb.Logger)
	return &Renderer{FS: erb.FS, renderer: bitemplate.NewJobListRenderer(jr, erb.Logger)}
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
	props, err := PropertiesOf(ig, ref, m)
	if err != nil {
		return "", err
	}
	list, err := r.renderer.Render([]bireljob.Job{*rj}, map[string]*biproperty.Map{job.Name: props.Job}, props.InstanceGroup, props.Global, m.Name, "")
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

// Properties are the property maps a job's templates are rendered with, as
// the ERB context takes them (it merges them over the spec's defaults).
type Properties struct {
	// Job is nil when the manifest gives the job no `properties:` (as
	// create-env's manifest parser leaves it); the ERB context then merges
	// the global over the instance group's properties.
	Job           *biproperty.Map
	InstanceGroup biproperty.Map
	Global        biproperty.Map
}

// PropertiesOf reads the job's, its instance group's and the manifest's
// global properties.
func PropertiesOf(ig InstanceGroup, ref JobRef, m *Manifest) (Properties, error) {
	var out Properties
	if ref.Properties != nil {
		p, err := PropertyMap(ref.Properties)
		if err != nil {
			return out, err
		}
		out.Job = &p
	}
	var err error
	if out.InstanceGroup, err = PropertyMap(ig.Properties); err != nil {
		return out, err
	}
	out.Global, err = PropertyMap(m.Properties)
	return out, err
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
