// Package deploylocal deploys the diego-go BOSH release on this machine as a
// test harness (not a BOSH replacement): it interpolates a manifest with the
// bosh CLI's libraries, compiles the release tarball's packages, renders
// every job of this release per instance with the bosh CLI's ERB renderer,
// gives each instance its own network namespace (a veth on a host bridge,
// its own address, /etc/hosts for the BOSH DNS aliases) and its own
// /var/vcap (a directory bind-mounted on /var/vcap in the instance's mount
// namespace), then runs the BOSH lifecycle: pre-start, the bpm processes,
// post-start, post-deploy; drain, stop, post-stop; errands (bin/run).
// Needs root, ip (iproute2), mount, ruby.
package deploylocal

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// ReleaseName is the release whose jobs are deployed; jobs of other
// releases are skipped.
const ReleaseName = "diego-go"

// Options of Up.
type Options struct {
	Repo      string            // repository root (jobs/, ci/dev/release.sh)
	Manifest  string            // base manifest
	OpsFiles  []string          // -o
	VarsFiles []string          // -l
	Vars      map[string]string // -v
	VarsStore string            // --vars-store (default ROOT/vars.yml)
	Root      string            // the deployment's directory
	Tarball   string            // release tarball; empty: built with ci/dev/release.sh into ROOT/diego-go.tgz
	// PackagesDir holds the compiled packages (default ROOT/packages); the
	// Go packages' build cache is PackagesDir/../data/golang-1-linux/cache.
	// Share it between roots to compile only what changed.
	PackagesDir string
	Bosh        string // bosh CLI for ci/dev/release.sh (default REPO/bin/bosh)
	Subnet      string // first three octets of the /24 (default 10.245.0)
	Bridge      string // host bridge (default dlbr0)
	// DBForward "LISTEN=TARGET": a TCP forwarder from the bridge to a
	// service listening on the host's loopback (default
	// GATEWAY:5524=127.0.0.1:5432, PostgreSQL).
	DBForward string
	// KeepDatabase: do not drop and re-create the BBS's PostgreSQL database.
	KeepDatabase bool
	// NATS is where an embedded NATS server listens for the route emitters
	// (default GATEWAY:4222; "off": none), with the user and password of
	// the manifest's route_emitter jobs.
	NATS string
	Logf func(string, ...interface{})
}

// Deployment is a running local deployment (in the process that ran Up).
type Deployment struct {
	State *State
	logf  func(string, ...interface{})
	mu    sync.Mutex
	cmds  map[*Process]*exec.Cmd
	fwd   *forwarder
	nats  interface{ Shutdown() }
}

func (o *Options) defaults() error {
	if o.Logf == nil {
		o.Logf = func(f string, a ...interface{}) { fmt.Fprintf(os.Stderr, "deploy-local: "+f+"\n", a...) }
	}
	if o.Subnet == "" {
		o.Subnet = "10.245.0"
	}
	if o.Bridge == "" {
		o.Bridge = "dlbr0"
	}
	if o.Bosh == "" {
		o.Bosh = filepath.Join(o.Repo, "bin", "bosh")
	}
	var err error
	if o.Root, err = filepath.Abs(o.Root); err != nil {
		return err
	}
	if o.VarsStore == "" {
		o.VarsStore = filepath.Join(o.Root, "vars.yml")
	}
	if o.NATS == "" {
		o.NATS = o.Subnet + ".1:4222"
	}
	if o.DBForward == "" {
		o.DBForward = o.Subnet + ".1:5524=127.0.0.1:5432"
	}
	return nil
}

// Up deploys: interpolate, compile, render, network, lifecycle. On error
// everything started is stopped again.
func Up(ctx context.Context, o Options) (*Deployment, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("deploy-local needs root (network namespaces, mounts)")
	}
	for _, v := range []string{"DIEGO_JOBS_DIR", "DIEGO_PACKAGES_DIR", "DIEGO_LOG_DIR"} {
		os.Unsetenv(v) // rendered paths are /var/vcap/..., as on a VM
	}
	if err := os.MkdirAll(o.Root, 0o755); err != nil {
		return nil, err
	}
	if old, err := Load(o.Root); err == nil {
		if old.Pid > 0 && old.Pid != os.Getpid() && alive(old.Pid) {
			return nil, fmt.Errorf("%s: a deployment is running (pid %d): deploy-local down first", o.Root, old.Pid)
		}
		cleanup(old, o.Logf)
	}
	start := time.Now()

	// 1. manifest
	b, err := boshrel.Interpolate(boshrel.Interpolation{Manifest: o.Manifest, OpsFiles: o.OpsFiles, VarsFiles: o.VarsFiles, Vars: o.Vars, VarsStore: o.VarsStore, VarErrs: true})
	if err != nil {
		return nil, fmt.Errorf("interpolating %s: %w", o.Manifest, err)
	}
	os.WriteFile(filepath.Join(o.Root, "manifest.yml"), b, 0o600)
	m, err := boshrel.ParseManifest(b)
	if err != nil {
		return nil, err
	}
	r := newInstanceRenderer()
	jobs, err := boshrel.ReadJobs(o.Repo, r.FS)
	if err != nil {
		return nil, err
	}

	// 2. release
	tarball := o.Tarball
	if tarball == "" {
		tarball = filepath.Join(o.Root, "diego-go.tgz")
		if err := BuildTarball(o.Repo, o.Bosh, tarball, o.Logf); err != nil {
			return nil, err
		}
	}
	step := time.Now()
	pkgs := o.PackagesDir
	if pkgs == "" {
		pkgs = filepath.Join(o.Root, "packages")
	}
	if pkgs, err = filepath.Abs(pkgs); err != nil {
		return nil, err
	}
	if _, err := CompilePackages(tarball, pkgs, o.Logf); err != nil {
		return nil, err
	}
	o.Logf("packages compiled in %s", time.Since(step).Round(time.Millisecond))

	// 3. instances
	gateway := o.Subnet + ".1"
	st := &State{Pid: os.Getpid(), Root: o.Root, Bridge: o.Bridge, Gateway: gateway, Forward: o.DBForward}
	if o.NATS != "off" {
		st.NATS = o.NATS
	}
	netName := "default"
	type planned struct {
		inst *Instance
		ig   boshrel.InstanceGroup
	}
	var plan []planned
	for _, ig := range m.InstanceGroups {
		ours := false
		for _, ref := range ig.Jobs {
			if ref.Release == ReleaseName {
				ours = true
			}
		}
		if !ours {
			o.Logf("instance group %s: no job of %s, skipped", ig.Name, ReleaseName)
			continue
		}
		if len(ig.Networks) > 0 {
			if n, ok := ig.Networks[0]["name"].(string); ok {
				netName = n
			}
		}
		for i := 0; i < ig.Instances; i++ {
			k := len(plan)
			inst := &Instance{Group: ig.Name, Index: i, ID: uuid(), IP: fmt.Sprintf("%s.%d", o.Subnet, 10+k),
				Netns: fmt.Sprintf("dl-%s-%d", ig.Name, i), Veth: fmt.Sprintf("dlv%d", k),
				Root: filepath.Join(o.Root, "instances", fmt.Sprintf("%s-%d", ig.Name, i))}
			if len(ig.AZs) > 0 {
				inst.AZ = ig.AZs[i%len(ig.AZs)]
			}
			plan = append(plan, planned{inst, ig})
			st.Instances = append(st.Instances, inst)
		}
	}
	if len(plan) == 0 {
		return nil, fmt.Errorf("no instance group has a job of %s", ReleaseName)
	}
	for _, p := range plan {
		if netnsBusy(p.inst.Netns) {
			return nil, fmt.Errorf("network namespace %s is in use: another deploy-local deployment runs (deploy-local down --root ITS_ROOT)", p.inst.Netns)
		}
	}
	for _, p := range plan {
		inst, ig := p.inst, p.ig
		os.RemoveAll(inst.Root)
		for _, d := range []string{"jobs", "packages", "sys/log", "sys/run", "data", "store", "bosh/bin", "jobs/bpm/bin"} {
			if err := os.MkdirAll(filepath.Join(inst.Root, d), 0o755); err != nil {
				return nil, err
			}
		}
		entries, _ := os.ReadDir(pkgs)
		for _, e := range entries {
			os.Symlink(filepath.Join(pkgs, e.Name()), filepath.Join(inst.Root, "packages", e.Name()))
		}
		os.WriteFile(filepath.Join(inst.Root, "bosh/bin/monit"), []byte(monitShim), 0o755)
		os.WriteFile(filepath.Join(inst.Root, "jobs/bpm/bin/bpm"), []byte(bpmShim), 0o755)
		for _, ref := range ig.Jobs {
			job, ok := jobs[ref.Name]
			if ref.Release != ReleaseName || !ok {
				inst.Skipped = append(inst.Skipped, ref.Name+" ("+ref.Release+")")
				continue
			}
			if err := r.render(job, ig, ref, m, inst, netName, gateway, filepath.Join(inst.Root, "jobs")); err != nil {
				return nil, fmt.Errorf("%s: %w", inst.Name(), err)
			}
			js := &JobState{Name: ref.Name, Dir: filepath.Join(inst.Root, "jobs", ref.Name)}
			procs, err := readBPM(filepath.Join(js.Dir, "config", "bpm.yml"))
			if err != nil {
				return nil, fmt.Errorf("%s job %s: %w", inst.Name(), ref.Name, err)
			}
			js.Processes = procs
			_, errRun := os.Stat(filepath.Join(js.Dir, "bin", "run"))
			js.Errand = procs == nil && errRun == nil
			inst.Jobs = append(inst.Jobs, js)
		}
		if len(inst.Skipped) > 0 {
			o.Logf("%s: skipping jobs of other releases: %s", inst.Name(), strings.Join(inst.Skipped, ", "))
		}
	}
	o.Logf("rendered %d instances", len(plan))

	// 4. network and hosts
	if err := os.MkdirAll("/var/vcap", 0o755); err != nil {
		return nil, err
	}
	d := &Deployment{State: st, logf: o.Logf, cmds: map[*Process]*exec.Cmd{}}
	if err := setupBridge(o.Bridge, gateway); err != nil {
		return nil, err
	}
	hosts := hostsFile(m, st)
	os.WriteFile(filepath.Join(o.Root, "hosts"), hosts, 0o644)
	for _, inst := range st.Instances {
		if err := setupInstanceNet(inst, o.Bridge, gateway, hosts); err != nil {
			d.Down()
			return nil, fmt.Errorf("%s: %w", inst.Name(), err)
		}
	}
	if from, to, ok := strings.Cut(o.DBForward, "="); ok {
		f, err := startForwarder(from, to)
		if err != nil {
			d.Down()
			return nil, err
		}
		d.fwd = f
		if !o.KeepDatabase {
			if err := resetDatabase(m, to, o.Logf); err != nil {
				d.Down()
				return nil, err
			}
		}
	}
	if st.NATS != "" {
		user, password := natsAuth(m)
		ns, err := startNATS(st.NATS, user, password)
		if err != nil {
			d.Down()
			return nil, err
		}
		d.nats = ns
		o.Logf("NATS (embedded) on %s", st.NATS)
	}
	if err := d.save(); err != nil {
		d.Down()
		return nil, err
	}

	// 5. lifecycle: instance groups in manifest order, the instances of a
	// group in parallel; per instance pre-start, start, post-start.
	for _, group := range groupsInOrder(st) {
		var wg sync.WaitGroup
		errs := make(chan error, len(group))
		for _, inst := range group {
			inst := inst
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := d.startInstance(ctx, inst); err != nil {
					errs <- fmt.Errorf("%s: %w", inst.Name(), err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			d.save()
			d.Down()
			return nil, err
		}
		d.save()
	}
	for _, inst := range st.Instances {
		for _, j := range inst.Jobs {
			if out, err := d.runScript(ctx, inst, j, "post-deploy", nil, nil); err != nil {
				d.Down()
				return nil, fmt.Errorf("%s job %s: post-deploy: %v\n%s", inst.Name(), j.Name, err, out)
			}
		}
	}
	o.Logf("deployed %d instances in %s (root %s)", len(st.Instances), time.Since(start).Round(time.Second), o.Root)
	return d, d.save()
}
