package deploylocal

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	biproperty "github.com/cloudfoundry/bosh-utils/property"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// instanceRenderer renders a job for one instance with the bosh CLI's ERB
// renderer (erbrenderer, which execs ruby), like templatescompiler's job
// renderer, but with a per-instance spec as a director gives it (index, id,
// az, bootstrap, name, ip, address, networks) instead of create-env's fixed
// index 0 / az "unknown" / random id.
type instanceRenderer struct{ boshrel.ERB }

func newInstanceRenderer() *instanceRenderer { return &instanceRenderer{boshrel.NewERB()} }

type specContext map[string]interface{}

func (c specContext) MarshalJSON() ([]byte, error) { return json.Marshal(map[string]interface{}(c)) }

func (r *instanceRenderer) render(job *boshrel.Job, ig boshrel.InstanceGroup, ref boshrel.JobRef, m *boshrel.Manifest, inst *Instance, netName, gateway, dest string) error {
	rj, err := job.ReleaseJob(r.FS)
	if err != nil {
		return err
	}
	props, err := boshrel.PropertiesOf(ig, ref, m)
	if err != nil {
		return err
	}
	defaults := biproperty.Map{}
	for name, def := range rj.Properties {
		defaults[name] = def.Default
	}
	ctx := specContext{
		"index": inst.Index, "id": inst.ID, "az": inst.AZ, "bootstrap": inst.Index == 0,
		"name": ig.Name, "job": map[string]string{"name": ig.Name}, "deployment": m.Name,
		"address": inst.IP, "ip": inst.IP,
		"networks": map[string]interface{}{netName: map[string]interface{}{
			"ip": inst.IP, "netmask": "255.255.255.0", "gateway": gateway, "default": []string{"dns", "gateway"},
		}},
		"global_properties": props.Global, "cluster_properties": props.InstanceGroup, "job_properties": props.Job,
		"default_properties": defaults,
	}
	out := filepath.Join(dest, job.Name)
	os.RemoveAll(out)
	files := map[string]string{"monit": "monit"}
	for src, dst := range job.Spec.Templates {
		files[filepath.Join("templates", src)] = dst
	}
	for src, dst := range files {
		target := filepath.Join(out, dst)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := r.Renderer.Render(filepath.Join(job.Dir, src), target, ctx); err != nil {
			return fmt.Errorf("rendering %s/%s: %w", job.Name, src, err)
		}
		mode := os.FileMode(0o644)
		if filepath.Dir(dst) == "bin" {
			mode = 0o755
		}
		os.Chmod(target, mode)
	}
	// jobs/<job>/packages/<package> -> /var/vcap/packages/<package>, as the
	// BOSH agent links a job's packages (the file server serves that directory)
	if err := os.MkdirAll(filepath.Join(out, "packages"), 0o755); err != nil {
		return err
	}
	for _, p := range job.Spec.Packages {
		if err := os.Symlink(filepath.Join("/var/vcap/packages", p), filepath.Join(out, "packages", p)); err != nil {
			return fmt.Errorf("linking %s's package %s: %w", job.Name, p, err)
		}
	}
	return nil
}
