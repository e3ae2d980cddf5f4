package releasetest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// limitJobs are the jobs with a diego.<job>.server_limits property and the
// instance group of the base manifest that places each.
var limitJobs = []struct{ group, job string }{
	{"api", "bbs"}, {"api", "file_server"}, {"scheduler", "auctioneer"},
	{"scheduler", "route_emitter"}, {"scheduler", "ssh_proxy"}, {"diego-cell", "rep"},
}

// renderedJob is one job rendered from a manifest under a temporary /var/vcap.
type renderedJob struct {
	job       *boshrel.Job
	out, root string
	err       error // the template's raise, if any
}

// renderLimitJobs interpolates the base manifest with ops (generating its
// certificates once) and renders every job of limitJobs.
func renderLimitJobs(t *testing.T, ops ...op) map[string]renderedJob {
	t.Helper()
	r := boshrel.NewRenderer()
	jobs, err := boshrel.ReadJobs(repo, r.FS)
	if err != nil {
		t.Fatal(err)
	}
	var opsFiles []string
	if len(ops) > 0 {
		opsFiles = []string{opsFileOf(t, ops...)}
	}
	b, err := boshrel.Interpolate(boshrel.Interpolation{
		Manifest: baseManifest(), OpsFiles: opsFiles, VarsFiles: baseVarsFiles(),
		VarsStore: varsStore(t), VarErrs: true,
	})
	if err != nil {
		t.Fatalf("interpolating manifests/diego.yml: %v", err)
	}
	m, err := boshrel.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	// the properties set must be declared in the specs, with the default's type
	for _, p := range boshrel.Validate(m, jobs, "") {
		t.Errorf("manifest: %s", p)
	}
	got := map[string]renderedJob{}
	for _, ig := range m.InstanceGroups {
		for _, ref := range ig.Jobs {
			for _, lj := range limitJobs {
				if ig.Name != lj.group || ref.Name != lj.job {
					continue
				}
				root := filepath.Join(t.TempDir(), "vcap")
				out, err := r.Render(jobs[lj.job], ig, ref, m, filepath.Join(root, "jobs"))
				got[lj.job] = renderedJob{job: jobs[lj.job], out: out, root: root, err: err}
			}
		}
	}
	for _, lj := range limitJobs {
		if _, ok := got[lj.job]; !ok {
			t.Fatalf("no job %s in instance group %s of manifests/diego.yml", lj.job, lj.group)
		}
	}
	return got
}

// limitsProps is the go-patch path of diego.<job>.<name> of a job of limitJobs.
func limitsProp(group, job, name string) string {
	return fmt.Sprintf("/instance_groups/name=%s/jobs/name=%s/properties/diego?/%s?/%s?", group, job, job, name)
}

// renderedConfig reads the job's config/<job>.json.
func renderedConfig(t *testing.T, rj renderedJob) map[string]any {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(rj.out, "config", rj.job.Name+".json"))), &c); err != nil {
		t.Fatalf("config/%s.json: %v", rj.job.Name, err)
	}
	return c
}

// checkConfig runs the job's binary with its bpm arguments and -check-config
// on the rendered files and returns the binary's output and exit error.
func checkConfig(t *testing.T, rj renderedJob, bins string) (string, error) {
	t.Helper()
	if err := relocate(rj.out, rj.root); err != nil {
		t.Fatal(err)
	}
	// the job's state and package directories, as on a VM (checkRendered's)
	for _, d := range []string{"store", "data", "sys/log", "sys/run"} {
		os.MkdirAll(filepath.Join(rj.root, d, rj.job.Name), 0o755)
	}
	for _, p := range rj.job.Spec.Packages {
		os.MkdirAll(filepath.Join(rj.out, "packages", p), 0o755)
	}
	procs, err := readBPM(filepath.Join(rj.out, "config", "bpm.yml"))
	if err != nil {
		t.Fatalf("%s: config/bpm.yml: %v", rj.job.Name, err)
	}
	bin := jobBinaries[rj.job.Name]
	for _, p := range procs {
		if filepath.Base(p.Executable) != bin {
			continue
		}
		cmd := exec.Command(filepath.Join(bins, bin), append(append([]string{}, p.Args...), "-check-config")...)
		cmd.Dir = rj.out
		for k, v := range p.Env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Fatalf("%s: no bpm process runs %s", rj.job.Name, bin)
	return "", nil
}

// TestServerLimitsProperties: diego.<job>.server_limits of the bbs,
// auctioneer, rep, file_server, route_emitter and ssh_proxy jobs, and
// diego.ssh_proxy.handshake_timeout, render into the config's server_limits
// and handshake_timeout when set and pass the binary's -check-config; unset
// (the base manifest), they are left out of the config (the binary's
// defaults apply); a bad key or value renders but -check-config refuses it,
// naming the setting; a server_limits that is not a hash fails to render.
func TestServerLimitsProperties(t *testing.T) {
	if _, err := exec.LookPath("ruby"); err != nil {
		t.Fatal("the bosh CLI's ERB renderer needs ruby: run ci/dev/ensure-services.sh (or apt-get install ruby)")
	}
	bins := binaries(t)

	t.Run("set", func(t *testing.T) {
		t.Parallel()
		limits := map[string]any{
			"read_header_timeout": "5s", "read_timeout": "30s", "write_timeout": "-1s",
			"idle_timeout": "90s", "max_header_bytes": 32768, "max_connections": 20000,
		}
		ops := []op{replace(limitsProp("scheduler", "ssh_proxy", "handshake_timeout"), "20s")}
		for _, lj := range limitJobs {
			ops = append(ops, replace(limitsProp(lj.group, lj.job, "server_limits"), limits))
		}
		want := map[string]any{}
		for k, v := range limits {
			if n, ok := v.(int); ok {
				v = float64(n)
			}
			want[k] = v
		}
		for name, rj := range renderLimitJobs(t, ops...) {
			if rj.err != nil {
				t.Errorf("%s: rendering: %v", name, rj.err)
				continue
			}
			c := renderedConfig(t, rj)
			if got := c["server_limits"]; !reflect.DeepEqual(got, want) {
				t.Errorf("%s: server_limits = %v, want %v", name, got, want)
			}
			if name == "ssh_proxy" && c["handshake_timeout"] != "20s" {
				t.Errorf("ssh_proxy: handshake_timeout = %v, want 20s", c["handshake_timeout"])
			}
			if msg, err := checkConfig(t, rj, bins); err != nil {
				t.Errorf("%s -check-config: %v\n%s", name, err, msg)
			}
		}
	})

	t.Run("unset", func(t *testing.T) {
		t.Parallel()
		for name, rj := range renderLimitJobs(t) {
			if rj.err != nil {
				t.Errorf("%s: rendering: %v", name, rj.err)
				continue
			}
			c := renderedConfig(t, rj)
			for _, k := range []string{"server_limits", "handshake_timeout"} {
				if v, ok := c[k]; ok {
					t.Errorf("%s: config has %s %v with the property unset; want it left to the binary's default", name, k, v)
				}
			}
		}
	})

	t.Run("bad", func(t *testing.T) {
		t.Parallel()
		// each job gets one mistake; -check-config must name it
		bad := map[string]struct {
			prop  string
			value any
			msg   string
		}{
			"bbs":           {"server_limits", map[string]any{"max_header_bytes": -1}, "server_limits.max_header_bytes -1 must be 0"},
			"auctioneer":    {"server_limits", map[string]any{"max_conections": 10}, `unknown field "max_conections"`},
			"rep":           {"server_limits", map[string]any{"read_header_timeout": "20s", "read_timeout": "10s"}, "server_limits.read_timeout 10s is shorter than read_header_timeout 20s"},
			"file_server":   {"server_limits", map[string]any{"idle_timeout": "soon"}, `invalid duration "soon"`},
			"route_emitter": {"server_limits", map[string]any{"max_header_bytes": 100}, "server_limits.max_header_bytes 100 is too small"},
			"ssh_proxy":     {"handshake_timeout", "-1s", "handshake_timeout -1s must be 0 (never) or positive"},
		}
		var ops []op
		for _, lj := range limitJobs {
			b := bad[lj.job]
			ops = append(ops, replace(limitsProp(lj.group, lj.job, b.prop), b.value))
		}
		for name, rj := range renderLimitJobs(t, ops...) {
			if rj.err != nil {
				t.Errorf("%s: rendering: %v", name, rj.err)
				continue
			}
			msg, err := checkConfig(t, rj, bins)
			if err == nil || !strings.Contains(msg, bad[name].msg) {
				t.Errorf("%s -check-config with %s %v: %v\n%s\nwant a failure saying %q", name, bad[name].prop, bad[name].value, err, msg, bad[name].msg)
			} else {
				t.Logf("%s -check-config refuses %s %v: %s", name, bad[name].prop, bad[name].value, strings.TrimSpace(msg))
			}
		}
	})

	t.Run("not a hash", func(t *testing.T) {
		t.Parallel()
		// rendered on its own, without the manifest's type check
		r := boshrel.NewRenderer()
		jobs, err := boshrel.ReadJobs(repo, r.FS)
		if err != nil {
			t.Fatal(err)
		}
		ref := boshrel.JobRef{Name: "file_server", Release: "diego", Properties: map[interface{}]interface{}{
			"diego": map[interface{}]interface{}{"file_server": map[interface{}]interface{}{"server_limits": 20000}}}}
		ig := boshrel.InstanceGroup{Name: "api", Instances: 1, Jobs: []boshrel.JobRef{ref}}
		m := &boshrel.Manifest{Name: "diego", InstanceGroups: []boshrel.InstanceGroup{ig}}
		_, err = r.Render(jobs["file_server"], ig, ref, m, filepath.Join(t.TempDir(), "vcap", "jobs"))
		if err == nil || !strings.Contains(err.Error(), "diego.file_server.server_limits must be a hash") {
			t.Errorf("rendering with server_limits: 20000: %v; want an error saying it must be a hash", err)
		}
	})
}
