package sim

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// group is one simulated process (with the commands it runs in the
// foreground) as signals see it: a process group. A script's background
// jobs are child groups; a signal to a group reaches its children.
type group struct {
	c       *Container
	pid     int
	startAt time.Time
	script  bool
	parent  *group

	mu        sync.Mutex
	traps     map[syscall.Signal]string // trapped signals; "" = ignored
	pending   []syscall.Signal          // trapped, handler not run yet
	wake      chan struct{}             // closed on a trapped signal (nil until needed)
	dead      chan struct{}
	status    int
	ended     bool
	children  []*group
	externals int // foreground and background commands running (Metrics)
	memMB     int
	listeners []net.Listener
}

func (c *Container) newGroup(script bool, parent *group) *group {
	g := &group{
		c: c, pid: c.b.nextPid(), script: script, parent: parent,
		startAt: time.Now().Add(max(time.Duration(c.b.cfg.StartDelay), 0)),
		dead:    make(chan struct{}),
	}
	if parent != nil {
		parent.mu.Lock()
		for sig, h := range parent.traps { // ignored signals are inherited
			if h == "" {
				if g.traps == nil {
					g.traps = map[syscall.Signal]string{}
				}
				g.traps[sig] = ""
			}
		}
		parent.children = append(parent.children, g)
		parent.mu.Unlock()
	}
	c.addGroup(g)
	return g
}

// die ends the group (and its children) with status; false if it had
// already ended.
func (g *group) die(status int) bool {
	g.mu.Lock()
	if g.ended {
		g.mu.Unlock()
		return false
	}
	g.ended, g.status = true, status
	close(g.dead)
	children, ls := g.children, g.listeners
	g.children, g.listeners = nil, nil
	g.mu.Unlock()
	for _, l := range ls {
		_ = l.Close()
	}
	for _, ch := range children {
		ch.signal(syscall.SIGKILL)
	}
	g.c.removeGroup(g)
	return true
}

// exited ends a group whose last command finished; a background job's
// children (none: they run in their own groups) are left running.
func (g *group) exited(status int) {
	g.mu.Lock()
	if g.ended {
		g.mu.Unlock()
		return
	}
	g.ended, g.status = true, status
	close(g.dead)
	ls := g.listeners
	g.listeners = nil
	g.mu.Unlock()
	for _, l := range ls {
		_ = l.Close()
	}
	g.c.removeGroup(g)
}

// signal delivers sig as the kernel would to a process group: ignored,
// queued for a trap (interrupting a foreground command), or fatal.
func (g *group) signal(sig syscall.Signal) {
	g.mu.Lock()
	children := append([]*group(nil), g.children...)
	if g.ended {
		g.mu.Unlock()
		return
	}
	h, trapped := g.traps[sig]
	switch {
	case sig == syscall.SIGKILL || sig == syscall.SIGSTOP:
		trapped = false
	case ignoredByDefault(sig):
		g.mu.Unlock()
		return
	}
	if trapped {
		if h != "" {
			g.pending = append(g.pending, sig)
			if g.wake != nil {
				close(g.wake)
				g.wake = nil
			}
		}
		g.mu.Unlock()
	} else {
		g.mu.Unlock()
		g.die(128 + int(sig))
	}
	for _, ch := range children {
		ch.signal(sig)
	}
}

func ignoredByDefault(sig syscall.Signal) bool {
	switch sig {
	case syscall.SIGCHLD, syscall.SIGURG, syscall.SIGWINCH, syscall.SIGCONT:
		return true
	}
	return false
}

// wakeCh is closed when a trapped signal arrives (or is already pending).
func (g *group) wakeCh() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.wake == nil {
		g.wake = make(chan struct{})
		if len(g.pending) > 0 {
			close(g.wake)
			ch := g.wake
			g.wake = nil
			return ch
		}
	}
	return g.wake
}

// takePending returns the trapped signals whose handlers are due and their
// handlers.
func (g *group) takePending() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var hs []string
	for _, sig := range g.pending {
		if h := g.traps[sig]; h != "" {
			hs = append(hs, h)
		}
	}
	g.pending = nil
	return hs
}

func (g *group) setTrap(sig syscall.Signal, handler string, reset bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.traps == nil {
		g.traps = map[syscall.Signal]string{}
	}
	if reset {
		delete(g.traps, sig)
		return
	}
	g.traps[sig] = handler
}

func (g *group) addExternal(n int) {
	g.mu.Lock()
	g.externals += n
	g.mu.Unlock()
}

func (g *group) addListener(l net.Listener) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ended {
		return false
	}
	g.listeners = append(g.listeners, l)
	return true
}

// processes is how many processes the group stands for (Metrics).
func (g *group) processes() (n int, memMB int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n = 1
	if g.script && g.parent == nil {
		n += g.externals
	} else if g.externals > 1 {
		n = g.externals
	}
	return n, g.memMB + n
}

// process is a container.Process: the group Run started. It ends when
// the group does.
type process struct{ g *group }

func (p process) ID() string { return strconv.Itoa(p.g.pid) }

func (p process) Wait() (int, error) {
	<-p.g.dead
	p.g.mu.Lock()
	defer p.g.mu.Unlock()
	return p.g.status, nil
}

// Exited implements container.ExitNotifier.
func (p process) Exited() <-chan struct{} { return p.g.dead }

func (p process) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("container: unsupported signal %v", sig)
	}
	select {
	case <-p.g.dead:
		return os.ErrProcessDone
	default:
	}
	p.g.signal(s)
	return nil
}

// pendingSignal is the first trapped signal not handled yet (SIGTERM if
// none).
func (g *group) pendingSignal() syscall.Signal {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) > 0 {
		return g.pending[0]
	}
	return syscall.SIGTERM
}
