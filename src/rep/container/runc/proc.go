package runc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/proc"
)

// Run implements container.Container with "runc exec": the runc process is
// the rep's child and passes the process's stdio through; its exit status is
// the process's (128+signal when killed). ctx only bounds the start.
func (c *Container) Run(ctx context.Context, spec container.ProcessSpec, pio container.ProcessIO) (container.Process, error) {
	if err := c.errIfGone(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	user, err := lookupUser(c.RootFSPath(), spec.User)
	if err != nil {
		return nil, fmt.Errorf("container: running %s: %w", spec.Path, err)
	}
	cwd := spec.Dir
	if cwd == "" {
		cwd = user.home
	}
	nofile := uint64(1024)
	if spec.NoFile > 0 {
		nofile = spec.NoFile
	}
	p := &process{Process: proc.New()}
	sio, err := c.openStdio(p.ID(), pio)
	if err != nil {
		return nil, fmt.Errorf("container: running %s: %w", spec.Path, err)
	}
	proc := ociProcess{
		User: ociUser{UID: user.uid, GID: user.gid},
		// The shell points stdout and stderr at the FIFOs and execs the
		// process: runc's own pipes are then held by nobody, and runc exits
		// with the process rather than when its last background child does.
		Args:         append([]string{"/bin/sh", "-c", `exec "$0" "$@" >` + sio.ctrPaths[0] + ` 2>` + sio.ctrPaths[1], spec.Path}, spec.Args...),
		Env:          c.processEnv(spec.Env),
		Cwd:          filepath.Clean("/" + cwd),
		Capabilities: caps(),
		Rlimits:      []ociRlimit{{Type: "RLIMIT_NOFILE", Hard: nofile, Soft: nofile}},
	}
	if user.uid != 0 {
		proc.Capabilities = &ociCaps{Bounding: defaultCaps}
	}
	base := filepath.Join(c.dir, "procs", p.ID())
	p.pidFile = base + ".pid"
	raw, _ := json.Marshal(proc)
	if err := os.WriteFile(base+".json", raw, 0o600); err != nil {
		sio.abort()
		return nil, fmt.Errorf("container: writing process.json: %w", err)
	}
	runcErr := &limitedBuffer{max: 4096}
	cmd := &exec.Cmd{
		Path:      c.b.cfg.RuncPath,
		Args:      []string{"runc", "--root", c.b.runcRoot, "exec", "--process", base + ".json", "--pid-file", p.pidFile, c.m.ID},
		Stdin:     pio.Stdin,
		Stderr:    runcErr, // runc's own errors
		WaitDelay: ioWaitDelay,
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped || c.destroying {
		os.Remove(base + ".json")
		sio.abort()
		return nil, fmt.Errorf("container %s is stopped: cannot run processes", c.m.Handle)
	}
	if err := cmd.Start(); err != nil {
		os.Remove(base + ".json")
		sio.abort()
		return nil, fmt.Errorf("container: starting runc exec (is runc_path right?): %w", err)
	}
	c.procs[p.ID()] = p
	go c.reap(p, cmd, base, sio, runcErr, pio.Stderr)
	c.mu.Unlock()
	err = p.waitStarted(ctx)
	c.mu.Lock()
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("container: running %s: %w", spec.Path, err)
	}
	return p, nil
}

// waitStarted returns once runc has written the pid file, i.e. the process
// runs in the container (killing it earlier would kill runc's setup and
// make runc exit 255), or runc has exited (a failed exec: its status and
// stderr tell why).
func (p *process) waitStarted(ctx context.Context) error {
	for delay := 500 * time.Microsecond; ; delay = min(delay*2, 10*time.Millisecond) {
		if _, err := os.Stat(p.pidFile); err == nil {
			return nil
		}
		select {
		case <-p.Done():
			return nil
		case <-ctx.Done():
			return fmt.Errorf("waiting for runc exec to start the process: %w", ctx.Err())
		case <-time.After(delay):
		}
	}
}

func (c *Container) reap(p *process, cmd *exec.Cmd, base string, sio *stdio, runcErr *limitedBuffer, stderr io.Writer) {
	err := cmd.Wait()
	sio.finish()
	if msg := runcErr.String(); msg != "" && stderr != nil {
		_, _ = stderr.Write([]byte(msg))
	}
	p.Reaped(cmd.ProcessState, err) // killed: runc itself was

	os.Remove(base + ".json")
	os.Remove(base + ".pid")
	c.mu.Lock()
	delete(c.procs, p.ID())
	c.mu.Unlock()
	p.Close()
}

// processEnv is PATH (DefaultPath unless given), the container's env, the
// process's env, then Diego's networking variables; PORT defaults to the
// first container port.
func (c *Container) processEnv(procEnv []string) []string {
	env := []string{"PATH=" + c.b.cfg.DefaultPath}
	env = append(env, c.m.Spec.Env...)
	env = append(env, procEnv...)
	env = append(env, container.NetworkEnv(c.b.cfg.HostIP, c.m.Net.ContainerIP, c.m.Ports)...)
	if len(c.m.Ports) == 0 {
		return env
	}
	first := c.m.Ports[0]
	if !hasEnv(env, "PORT") {
		env = append(env, fmt.Sprintf("PORT=%d", first.ContainerPort))
	}
	return env
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

// process is a process started by Run.
type process struct {
	proc.Process
	pidFile string // written by runc exec: the process's host pid
}

// Signal sends sig to the process (its host pid, from runc's pid file).
func (p *process) Signal(sig os.Signal) error {
	s, err := p.Signalable(sig)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if p.Ended() {
			return os.ErrProcessDone
		}
		raw, err := os.ReadFile(p.pidFile)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil && perr == nil && pid > 0 {
			if err := syscall.Kill(pid, s); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("container: signalling process %s: %w", p.ID(), err)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("container: signalling process %s: runc wrote no pid file", p.ID())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
