package deploylocal

import (
	"bytes"
	"context"
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
)

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
	if d.nats != nil {
		d.nats.Shutdown()
	}
	cleanup(d.State, d.logf)
	d.State.Pid = 0
	d.save()
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

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

// netnsBusy: the namespace exists and a process runs in it.
func netnsBusy(ns string) bool {
	if _, err := os.Stat(filepath.Join("/run/netns", ns)); err != nil {
		return false
	}
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	return len(bytes.TrimSpace(out)) > 0
}

// Command returns a command that runs in the instance (its network
// namespace, /etc/hosts and /var/vcap), like `bosh ssh -c`.
func Command(inst *Instance, name string, args ...string) *exec.Cmd {
	return inInstance(inst, []string{"HOME=/var/vcap/data"}, name, args...)
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
