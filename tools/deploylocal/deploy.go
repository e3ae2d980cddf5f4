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
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// ReleaseName is the release whose jobs are deployed; jobs of other
// releases are skipped.
const ReleaseName = "diego-go"

// Options of Up.
type Options struct {
	Repo      string            // repository root (jobs/, scripts/release.sh)
	Manifest  string            // base manifest
	OpsFiles  []string          // -o
	VarsFiles []string          // -l
	Vars      map[string]string // -v
	VarsStore string            // --vars-store (default ROOT/vars.yml)
	Root      string            // the deployment's directory
	Tarball   string            // release tarball; empty: built with scripts/release.sh into ROOT/diego-go.tgz
	// PackagesDir holds the compiled packages (default ROOT/packages); the
	// Go packages' build cache is PackagesDir/../data/golang-1-linux/cache.
	// Share it between roots to compile only what changed.
	PackagesDir string
	Bosh        string // bosh CLI for scripts/release.sh (default REPO/bin/bosh)
	Subnet      string // first three octets of the /24 (default 10.245.0)
	Bridge      string // host bridge (default dlbr0)
	// DBForward "LISTEN=TARGET": a TCP forwarder from the bridge to a
	// service listening on the host's loopback (default
	// GATEWAY:5524=127.0.0.1:5432, PostgreSQL).
	DBForward string
	// KeepDatabase: do not drop and re-create the BBS's PostgreSQL database.
	KeepDatabase bool
	Logf         func(string, ...interface{})
}

// State is ROOT/deployment.json.
type State struct {
	Pid       int         `json:"pid"` // the process that ran up and supervises
	Root      string      `json:"root"`
	Bridge    string      `json:"bridge"`
	Gateway   string      `json:"gateway"`
	Forward   string      `json:"forward,omitempty"`
	Instances []*Instance `json:"instances"`
}

// Instance is one instance of an instance group.
type Instance struct {
	Group   string      `json:"group"`
	Index   int         `json:"index"`
	ID      string      `json:"id"`
	AZ      string      `json:"az"`
	IP      string      `json:"ip"`
	Netns   string      `json:"netns"`
	Veth    string      `json:"veth"`
	Root    string      `json:"root"` // bind-mounted on /var/vcap inside
	Jobs    []*JobState `json:"jobs"`
	Skipped []string    `json:"skipped,omitempty"` // jobs of other releases
	Stopped bool        `json:"stopped,omitempty"`
}

// JobState is one rendered job of an instance.
type JobState struct {
	Name      string     `json:"name"`
	Dir       string     `json:"dir"` // on the host
	Errand    bool       `json:"errand,omitempty"`
	Processes []*Process `json:"processes,omitempty"`
}

// Process is one bpm process.
type Process struct {
	Name       string            `json:"name"`
	Executable string            `json:"executable"`
	Args       []string          `json:"args,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	Pid        int               `json:"pid"`
	Exited     string            `json:"exited,omitempty"`
}

// Name is GROUP/INDEX.
func (i *Instance) Name() string { return fmt.Sprintf("%s/%d", i.Group, i.Index) }

// Deployment is a running local deployment (in the process that ran Up).
type Deployment struct {
	State *State
	logf  func(string, ...interface{})
	mu    sync.Mutex
	cmds  map[*Process]*exec.Cmd
	fwd   *forwarder
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
	jobs, err := boshrel.ReadJobs(o.Repo, r.fs)
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

func groupsInOrder(st *State) [][]*Instance {
	var out [][]*Instance
	for _, inst := range st.Instances {
		if len(out) > 0 && out[len(out)-1][0].Group == inst.Group {
			out[len(out)-1] = append(out[len(out)-1], inst)
		} else {
			out = append(out, []*Instance{inst})
		}
	}
	return out
}

func (d *Deployment) startInstance(ctx context.Context, inst *Instance) error {
	for _, j := range inst.Jobs {
		os.MkdirAll(filepath.Join(inst.Root, "sys/log", j.Name), 0o755)
		os.MkdirAll(filepath.Join(inst.Root, "sys/run", j.Name), 0o755)
		os.MkdirAll(filepath.Join(inst.Root, "sys/run/bpm", j.Name), 0o755)
		os.MkdirAll(filepath.Join(inst.Root, "data", j.Name, "tmp"), 0o755)
		os.MkdirAll(filepath.Join(inst.Root, "store", j.Name), 0o755)
		if out, err := d.runScript(ctx, inst, j, "pre-start", nil, nil); err != nil {
			return fmt.Errorf("job %s: pre-start: %v\n%s", j.Name, err, out)
		}
	}
	for _, j := range inst.Jobs {
		for _, p := range j.Processes {
			if err := d.startProcess(inst, j, p); err != nil {
				return fmt.Errorf("job %s: starting %s: %w", j.Name, p.Name, err)
			}
		}
	}
	for _, j := range inst.Jobs {
		step := time.Now()
		out, err := d.runScript(ctx, inst, j, "post-start", nil, nil)
		if err != nil {
			return fmt.Errorf("job %s: post-start: %v\n%s%s", j.Name, err, out, d.logTail(inst, j))
		}
		if _, e := os.Stat(filepath.Join(j.Dir, "bin", "post-start")); e == nil {
			d.logf("%s job %s: post-start passed in %s", inst.Name(), j.Name, time.Since(step).Round(time.Millisecond))
		}
	}
	return nil
}

func (d *Deployment) logTail(inst *Instance, j *JobState) string {
	var b strings.Builder
	for _, p := range j.Processes {
		for _, s := range []string{"stdout", "stderr"} {
			f := filepath.Join(inst.Root, "sys/log", j.Name, p.Name+"."+s+".log")
			c, _ := os.ReadFile(f)
			if len(c) > 3000 {
				c = c[len(c)-3000:]
			}
			fmt.Fprintf(&b, "\n--- %s (tail)\n%s", f, c)
		}
	}
	return b.String()
}

// inInstance wraps a command so that it runs in the instance's network
// namespace (ip netns exec, which also bind-mounts /etc/netns/NS/hosts on
// /etc/hosts in a new mount namespace) with the instance's root
// bind-mounted on /var/vcap.
func inInstance(inst *Instance, env []string, name string, args ...string) *exec.Cmd {
	a := append([]string{"netns", "exec", inst.Netns, "/bin/sh", "-c", `mount --bind "$0" /var/vcap && exec "$@"`, inst.Root, name}, args...)
	cmd := exec.Command("ip", a...)
	cmd.Env = append([]string{
		"PATH=/var/vcap/bosh/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C.UTF-8",
	}, env...)
	return cmd
}

func (d *Deployment) startProcess(inst *Instance, j *JobState, p *Process) error {
	logDir := filepath.Join(inst.Root, "sys/log", j.Name)
	stdout, err := os.OpenFile(filepath.Join(logDir, p.Name+".stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	stderr, err := os.OpenFile(filepath.Join(logDir, p.Name+".stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		stdout.Close()
		return err
	}
	env := []string{"HOME=/var/vcap/data/" + j.Name, "TMPDIR=/var/vcap/data/" + j.Name + "/tmp"}
	keys := make([]string, 0, len(p.Env))
	for k := range p.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+p.Env[k])
	}
	cmd := inInstance(inst, env, p.Executable, p.Args...)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		stdout.Close()
		stderr.Close()
		return err
	}
	// `ip netns exec` and sh exec the executable: the pid is the process's
	p.Pid = cmd.Process.Pid
	p.Exited = ""
	os.WriteFile(filepath.Join(inst.Root, "sys/run/bpm", j.Name, p.Name+".pid"), []byte(strconv.Itoa(p.Pid)), 0o644)
	d.mu.Lock()
	d.cmds[p] = cmd
	d.mu.Unlock()
	go func() {
		err := cmd.Wait()
		stdout.Close()
		stderr.Close()
		d.mu.Lock()
		p.Exited = fmt.Sprint(cmd.ProcessState)
		delete(d.cmds, p)
		d.mu.Unlock()
		os.Remove(filepath.Join(inst.Root, "sys/run/bpm", j.Name, p.Name+".pid"))
		d.logf("%s job %s: process %s (pid %d) exited: %v", inst.Name(), j.Name, p.Name, p.Pid, errOr(err, "status 0"))
		d.save()
	}()
	d.logf("%s job %s: started %s (pid %d)", inst.Name(), j.Name, p.Name, p.Pid)
	return nil
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// runScript runs jobs/<job>/bin/<name> in the instance if it was rendered
// (no script: nothing to do). Output is returned (and appended to
// sys/log/<job>/<name>.log).
func (d *Deployment) runScript(ctx context.Context, inst *Instance, j *JobState, name string, env, args []string) ([]byte, error) {
	path := filepath.Join(j.Dir, "bin", name)
	if _, err := os.Stat(path); err != nil {
		return nil, nil
	}
	cmd := inInstance(inst, env, "/var/vcap/jobs/"+j.Name+"/bin/"+name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if f, e := os.OpenFile(filepath.Join(inst.Root, "sys/log", j.Name, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); e == nil {
		fmt.Fprintf(f, "%s %s: %s\n%s", time.Now().UTC().Format(time.RFC3339), name, errOr(err, "ok"), out.Bytes())
		f.Close()
	}
	return out.Bytes(), err
}

// StopInstance drains every job of the instance (the BOSH drain contract:
// stdout is an integer; >= 0 wait that long; < 0 wait |n| and call drain
// again; bounded by drainTimeout), then SIGTERMs its processes (SIGKILL
// after 20 s) and runs post-stop.
func StopInstance(st *State, inst *Instance, drainTimeout time.Duration, logf func(string, ...interface{})) error {
	var errs []string
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, j := range inst.Jobs {
		j := j
		if _, err := os.Stat(filepath.Join(j.Dir, "bin", "drain")); err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := drainJob(inst, j, drainTimeout, logf); err != nil {
				mu.Lock()
				errs = append(errs, err.Error())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, j := range inst.Jobs {
		for _, p := range j.Processes {
			if p.Exited == "" && running(p, inst) {
				syscall.Kill(p.Pid, syscall.SIGTERM)
			}
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, j := range inst.Jobs {
		for _, p := range j.Processes {
			for running(p, inst) && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			if running(p, inst) {
				logf("%s job %s: %s (pid %d) did not stop within 20s: SIGKILL", inst.Name(), j.Name, p.Name, p.Pid)
				syscall.Kill(p.Pid, syscall.SIGKILL)
			}
		}
	}
	for _, j := range inst.Jobs {
		if _, err := os.Stat(filepath.Join(j.Dir, "bin", "post-stop")); err == nil {
			cmd := inInstance(inst, nil, "/var/vcap/jobs/"+j.Name+"/bin/post-stop")
			if out, err := cmd.CombinedOutput(); err != nil {
				errs = append(errs, fmt.Sprintf("job %s: post-stop: %v\n%s", j.Name, err, out))
			}
		}
	}
	inst.Stopped = true
	logf("%s: stopped", inst.Name())
	if len(errs) > 0 {
		return fmt.Errorf("%s: %s", inst.Name(), strings.Join(errs, "; "))
	}
	return nil
}

// running: the process lives in the instance's namespace (not a reused pid).
func running(p *Process, inst *Instance) bool {
	return p.Pid > 0 && alive(p.Pid) && sameNetns(p.Pid, inst.Netns)
}

// alive: the process exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndex(s, ")"); i > 0 && len(s) > i+2 {
		return s[i+2] != 'Z'
	}
	return true
}

func drainJob(inst *Instance, j *JobState, timeout time.Duration, logf func(string, ...interface{})) error {
	env := []string{`BOSH_JOB_STATE={"persistent_disk":0}`, `BOSH_JOB_NEXT_STATE={}`}
	deadline := time.Now().Add(timeout)
	for call := 1; ; call++ {
		cmd := inInstance(inst, env, "/var/vcap/jobs/"+j.Name+"/bin/drain", "job_shutdown", "hash_unchanged")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil {
			return fmt.Errorf("job %s: drain: %v\n%s%s", j.Name, err, stdout.String(), stderr.String())
		}
		n, err := strconv.Atoi(strings.TrimSpace(stdout.String()))
		if err != nil {
			return fmt.Errorf("job %s: drain printed %q, not an integer", j.Name, stdout.String())
		}
		logf("%s job %s: drain call %d printed %d", inst.Name(), j.Name, call, n)
		wait := time.Duration(n) * time.Second
		if n < 0 {
			wait = -wait
		}
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("job %s: drain did not finish within %s", j.Name, timeout)
		}
		time.Sleep(wait)
		if n >= 0 {
			return nil
		}
	}
}

// Down stops every instance (drain, stop, post-stop), in reverse manifest
// order, and removes the namespaces, veths and the bridge.
func (d *Deployment) Down() error {
	var errs []string
	groups := groupsInOrder(d.State)
	for i := len(groups) - 1; i >= 0; i-- {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, inst := range groups[i] {
			inst := inst
			if inst.Stopped {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := StopInstance(d.State, inst, 10*time.Minute, d.logf); err != nil {
					mu.Lock()
					errs = append(errs, err.Error())
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	d.fwd.Close()
	cleanup(d.State, d.logf)
	d.State.Pid = 0
	d.save()
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

func cleanup(st *State, logf func(string, ...interface{})) {
	for _, inst := range st.Instances {
		for _, j := range inst.Jobs {
			for _, p := range j.Processes {
				if p.Exited == "" && running(p, inst) {
					syscall.Kill(p.Pid, syscall.SIGKILL)
				}
			}
		}
		teardownInstanceNet(inst)
	}
	if st.Bridge != "" {
		exec.Command("ip", "link", "del", st.Bridge).Run()
	}
}

// sameNetns: pid runs in the named network namespace (guards against pid reuse).
func sameNetns(pid int, ns string) bool {
	a, err1 := os.Stat(fmt.Sprintf("/proc/%d/ns/net", pid))
	b, err2 := os.Stat(filepath.Join("/run/netns", ns))
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// Instance finds GROUP/INDEX (or GROUP: its first instance).
func (st *State) Instance(name string) (*Instance, error) {
	g, i, hasIndex := strings.Cut(name, "/")
	for _, inst := range st.Instances {
		if inst.Group == g && (!hasIndex || strconv.Itoa(inst.Index) == i) {
			return inst, nil
		}
	}
	return nil, fmt.Errorf("no instance %s", name)
}

// RunErrand runs the errand job's bin/run in an instance (the first one
// that has the job unless instance is given), with stdout/stderr to out.
// The error is the errand's failure (an *exec.ExitError for its status).
func RunErrand(st *State, name, instance string, out *os.File) error {
	var target *Instance
	var job *JobState
	for _, inst := range st.Instances {
		if instance != "" && inst.Name() != instance && inst.Group != instance {
			continue
		}
		for _, j := range inst.Jobs {
			if j.Name == name {
				target, job = inst, j
				break
			}
		}
		if target != nil {
			break
		}
	}
	if target == nil {
		return fmt.Errorf("no instance has the errand job %s", name)
	}
	if _, err := os.Stat(filepath.Join(job.Dir, "bin", "run")); err != nil {
		return fmt.Errorf("job %s on %s has no bin/run: not an errand", name, target.Name())
	}
	os.MkdirAll(filepath.Join(target.Root, "sys/log", name), 0o755)
	cmd := inInstance(target, []string{"HOME=/var/vcap/data/" + name}, "/var/vcap/jobs/"+name+"/bin/run")
	cmd.Stdout, cmd.Stderr = out, out
	return cmd.Run()
}

// Load reads ROOT/deployment.json.
func Load(root string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(root, "deployment.json"))
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func (d *Deployment) save() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := json.MarshalIndent(d.State, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(d.State.Root, "deployment.json")
	if err := os.WriteFile(p+".tmp", b, 0o644); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
}

func readBPM(path string) ([]*Process, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f struct {
		Processes []*Process `yaml:"processes"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("config/bpm.yml: %w", err)
	}
	for _, p := range f.Processes {
		if p.Name == "" || p.Executable == "" {
			return nil, fmt.Errorf("config/bpm.yml: a process without name or executable")
		}
	}
	return f.Processes, nil
}

// hostsFile resolves the bosh-dns-aliases addon's aliases (query '*': every
// instance of the group; '_': <instance id>.<domain without "_.">) and each
// instance's <id>.<group>.<network>.<deployment>.bosh name.
func hostsFile(m *boshrel.Manifest, st *State) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1 localhost\n::1 localhost\n")
	for _, a := range m.Addons {
		for _, j := range a.Jobs {
			if j.Name != "bosh-dns-aliases" {
				continue
			}
			aliases, _ := j.Properties["aliases"].([]interface{})
			for _, al := range aliases {
				am, _ := al.(map[interface{}]interface{})
				domain, _ := am["domain"].(string)
				targets, _ := am["targets"].([]interface{})
				for _, t := range targets {
					tm, _ := t.(map[interface{}]interface{})
					group, _ := tm["instance_group"].(string)
					query, _ := tm["query"].(string)
					for _, inst := range st.Instances {
						if inst.Group != group {
							continue
						}
						if query == "_" && strings.HasPrefix(domain, "_.") {
							fmt.Fprintf(&b, "%s %s.%s\n", inst.IP, inst.ID, strings.TrimPrefix(domain, "_."))
						} else {
							fmt.Fprintf(&b, "%s %s\n", inst.IP, domain)
						}
					}
				}
			}
		}
	}
	for _, inst := range st.Instances {
		fmt.Fprintf(&b, "%s %s-%d %s.%s.default.%s.bosh\n", inst.IP, inst.Group, inst.Index, inst.ID, inst.Group, m.Name)
	}
	return b.Bytes()
}

// resetDatabase drops and re-creates the PostgreSQL database and role that
// the BBS job's diego.bbs.sql properties name, through the host's
// PostgreSQL at target (trust or the postgres role's access on loopback).
func resetDatabase(m *boshrel.Manifest, target string, logf func(string, ...interface{})) error {
	var sql map[interface{}]interface{}
	for _, ig := range m.InstanceGroups {
		for _, ref := range ig.Jobs {
			if ref.Name == "bbs" && ref.Release == ReleaseName {
				diego, _ := ref.Properties["diego"].(map[interface{}]interface{})
				bbs, _ := diego["bbs"].(map[interface{}]interface{})
				sql, _ = bbs["sql"].(map[interface{}]interface{})
			}
		}
	}
	if sql == nil || fmt.Sprint(sql["db_driver"]) != "postgres" {
		return nil
	}
	host, port, _ := strings.Cut(target, ":")
	db, user, pass := fmt.Sprint(sql["db_schema"]), fmt.Sprint(sql["db_username"]), fmt.Sprint(sql["db_password"])
	for _, s := range []string{db, user} {
		if strings.ContainsAny(s, `"'; `) || s == "" {
			return fmt.Errorf("unexpected database or user name %q", s)
		}
	}
	script := fmt.Sprintf(`DROP DATABASE IF EXISTS "%s" WITH (FORCE);
DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN CREATE ROLE "%s" LOGIN; END IF; END $$;
ALTER ROLE "%s" LOGIN PASSWORD '%s';
CREATE DATABASE "%s" OWNER "%s";
`, db, user, user, user, strings.ReplaceAll(pass, "'", "''"), db, user)
	cmd := exec.Command("psql", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", port, "-U", "postgres", "-d", "postgres", "-q")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("creating database %s (role %s) on %s: %v\n%s", db, user, target, err, out)
	}
	logf("database %s (role %s) created afresh on %s", db, user, target)
	return nil
}

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// monitShim stands in for the BOSH agent's monit: there is none (the
// processes are started once from bpm.yml and not restarted).
const monitShim = `#!/bin/sh
# deploy-local: no monit here; processes are started once from bpm.yml.
echo "deploy-local: monit $* (no monit: ignored)"
exit 0
`

// bpmShim stands in for the bpm job's bpm: stop (SIGTERM, SIGKILL after
// 20 s) and pid, by the pid files deploy-local writes where bpm does.
const bpmShim = `#!/bin/bash
# deploy-local stand-in for bpm: "stop JOB [-p PROCESS]" and "pid JOB [-p PROCESS]".
set -u
cmd="${1:-}"; job="${2:-}"; proc="${job}"
if [[ "${3:-}" == -p ]]; then proc="${4:-}"; fi
pidfile="/var/vcap/sys/run/bpm/${job}/${proc}.pid"
case "${cmd}" in
  stop)
    [[ -f "${pidfile}" ]] || { echo "bpm: ${job}/${proc} is not running"; exit 0; }
    pid="$(cat "${pidfile}")"
    kill -TERM "${pid}" 2>/dev/null || exit 0
    for _ in $(seq 1 200); do
      state="$(awk '{print $3}' "/proc/${pid}/stat" 2>/dev/null || true)"
      [[ -z "${state}" || "${state}" == Z ]] && exit 0
      sleep 0.1
    done
    kill -KILL "${pid}" 2>/dev/null || true ;;
  pid) cat "${pidfile}" ;;
  *) echo "deploy-local bpm stand-in: ${cmd} is not supported" >&2; exit 1 ;;
esac
`

// Down stops the deployment under root from another process: SIGTERM to
// the supervising `up` process (which drains and stops every instance and
// removes the network), waiting up to timeout; without a live supervisor,
// whatever is left (processes in the namespaces, namespaces, bridge) is
// removed.
func Down(root string, timeout time.Duration) error {
	st, err := Load(root)
	if err != nil {
		return err
	}
	if st.Pid > 0 && st.Pid != os.Getpid() && alive(st.Pid) {
		syscall.Kill(st.Pid, syscall.SIGTERM)
		deadline := time.Now().Add(timeout)
		for alive(st.Pid) && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if alive(st.Pid) {
			return fmt.Errorf("the supervisor (pid %d) did not stop within %s", st.Pid, timeout)
		}
		if st, err = Load(root); err != nil {
			return err
		}
	}
	cleanup(st, func(string, ...interface{}) {})
	return nil
}

// Command returns a command that runs in the instance (its network
// namespace, /etc/hosts and /var/vcap), like `bosh ssh -c`.
func Command(inst *Instance, name string, args ...string) *exec.Cmd {
	return inInstance(inst, []string{"HOME=/var/vcap/data"}, name, args...)
}

// netnsBusy: the namespace exists and a process runs in it.
func netnsBusy(ns string) bool {
	if _, err := os.Stat(filepath.Join("/run/netns", ns)); err != nil {
		return false
	}
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	return len(bytes.TrimSpace(out)) > 0
}
