package boshrel

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	bireljob "github.com/cloudfoundry/bosh-cli/v7/release/job"
	boshjobman "github.com/cloudfoundry/bosh-cli/v7/release/job/manifest"
	"github.com/cloudfoundry/bosh-cli/v7/release/resource"
	biproperty "github.com/cloudfoundry/bosh-utils/property"
	boshsys "github.com/cloudfoundry/bosh-utils/system"
	"gopkg.in/yaml.v2"
)

// Job is one release job under jobs/: its spec as the bosh CLI reads it.
type Job struct {
	Name string
	Dir  string
	Spec boshjobman.Manifest
	Raw  map[string]interface{} // the spec's raw YAML (for fields the CLI ignores)
}

// ReadJobs reads every jobs/<name>/spec with the bosh CLI's job manifest reader.
func ReadJobs(repo string, fs boshsys.FileSystem) (map[string]*Job, error) {
	dirs, err := filepath.Glob(filepath.Join(repo, "jobs", "*", "spec"))
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("no jobs/*/spec under %s", repo)
	}
	jobs := map[string]*Job{}
	for _, spec := range dirs {
		dir := filepath.Dir(spec)
		m, err := boshjobman.NewManifestFromPath(spec, fs)
		if err != nil {
			return nil, err
		}
		if m.Name != filepath.Base(dir) {
			return nil, fmt.Errorf("%s: job name %q differs from its directory", spec, m.Name)
		}
		b, _ := os.ReadFile(spec)
		raw := map[string]interface{}{}
		_ = yaml.Unmarshal(b, &raw)
		jobs[m.Name] = &Job{Name: m.Name, Dir: dir, Spec: m, Raw: raw}
	}
	return jobs, nil
}

// Names returns the job names, sorted.
func Names(jobs map[string]*Job) []string {
	var out []string
	for n := range jobs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ReleaseJob builds the bosh CLI's release job for a job directory, as the
// release archive reader does for an extracted job (templates, packages and
// property defaults from the spec), so templatescompiler renders it.
func (j *Job) ReleaseJob(fs boshsys.FileSystem) (*bireljob.Job, error) {
	res := resource.NewResource(j.Name, "dev", nil)
	rj := bireljob.NewExtractedJob(res, j.Dir, fs)
	rj.Templates = j.Spec.Templates
	rj.PackageNames = j.Spec.Packages
	rj.Properties = map[string]bireljob.PropertyDefinition{}
	for name, def := range j.Spec.Properties {
		d, err := biproperty.Build(def.Default)
		if err != nil {
			return nil, fmt.Errorf("job %s property %s default: %w", j.Name, name, err)
		}
		rj.Properties[name] = bireljob.PropertyDefinition{Description: def.Description, Default: d}
	}
	return rj, nil
}
