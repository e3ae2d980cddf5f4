package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// child is one supervised component process.
type child struct {
	name    string
	bin     string
	config  string
	logPath string
	restart bool     // restarted when it exits unexpectedly
	netns   string   // runs in this network namespace (ip netns exec)
	env     []string // KEY=VALUE added to the supervisor's environment

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the current process has exited
	stopping bool
	// supervised is closed when the child's supervisor returns.
	supervised chan struct{}
}

// start launches the component; its stdout and stderr go to its log file.
func (c *child) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	logf, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("%s: opening its log: %w", c.name, err)
	}
	cmd := exec.Command(c.bin, "-config", c.config)
	if c.netns != "" {
		// ip netns exec joins the namespace and execs the component: the
		// process is the component's, as without it.
		cmd = exec.Command("ip", "netns", "exec", c.netns, c.bin, "-config", c.config)
	}
	if len(c.env) > 0 {
		cmd.Env = append(os.Environ(), c.env...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Children die with the supervisor, even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s (%s): %w", c.name, c.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	c.cmd, c.exited = cmd, exited
	return nil
}

// now reads the child's current process, the channel closed when it exits
// and whether it is being stopped, together.
func (c *child) now() (cmd *exec.Cmd, exited <-chan struct{}, stopping bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cmd, c.exited, c.stopping
}

func (c *child) pid() int {
	if cmd, _, _ := c.now(); cmd != nil && cmd.Process != nil {
		return cmd.Process.Pid
	}
	return 0
}

func (c *child) done() <-chan struct{} {
	_, exited, _ := c.now()
	return exited
}

// status is how the current process ended ("running" until it has).
func (c *child) status() string {
	if cmd, _, _ := c.now(); cmd != nil && cmd.ProcessState != nil {
		return cmd.ProcessState.String()
	}
	return "running"
}

// stop sends SIGTERM and waits up to grace before SIGKILL.
func (c *child) stop(grace time.Duration) {
	c.mu.Lock()
	c.stopping = true
	cmd, exited := c.cmd, c.exited
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// supervise restarts the child after an unexpected exit (when it is a
// restartable one) until ctx ends; onChange is told of every exit and
// restart.
func (c *child) supervise(ctx context.Context, onExit func(c *child, restarted bool, err error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.done():
		}
		if _, _, stopping := c.now(); stopping || ctx.Err() != nil {
			return
		}
		if !c.restart {
			onExit(c, false, nil)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		err := c.start()
		onExit(c, err == nil, err)
		if err != nil {
			return
		}
	}
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			lines++
			if lines > n {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}

func binPath(dir, name string) string { return filepath.Join(dir, name) }
