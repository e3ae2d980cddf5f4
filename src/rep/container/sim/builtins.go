package sim

// The shell's builtins and the programs a container knows: commands found
// as files in the container, the builtin utilities and the simulated app.

import (
	"fmt"
	"io"
	"math"
	"net"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type progKind int

const (
	progApp     progKind = iota // the simulated app
	progBinary                  // a streamed-in file that is not a script
	progScript                  // a streamed-in "#!" file
	progShell                   // sh, bash
	progBuiltin                 // a utility the shell implements
)

type program struct {
	kind progKind
	name string // progBuiltin
	body string // progScript
}

var (
	shells    = []string{"sh", "bash", "dash", "ash"}
	utilities = []string{"sleep", "cat", "echo", "true", "false", "kill", "env", "pwd", ":"}
	sysDirs   = []string{"/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin"}
)

// resolve says what running p (from dir, with the PATH in vars) runs: a
// file in the container wins, then a shell or utility by name, else the
// simulated app.
func (c *Container) resolve(p, dir string, vars map[string]string) program {
	var candidates []string
	switch {
	case strings.Contains(p, "/"):
		candidates = []string{abs(dir, p)}
	default:
		for _, d := range strings.Split(vars["PATH"], ":") {
			if path.IsAbs(d) {
				candidates = append(candidates, path.Join(d, p))
			}
		}
	}
	for _, cand := range candidates {
		if f, ok := c.lookup(cand); ok && !f.dir {
			if body, ok := strings.CutPrefix(string(f.data), "#!"); ok {
				_, body, _ = strings.Cut(body, "\n")
				return program{kind: progScript, body: body}
			}
			return program{kind: progBinary}
		}
	}
	base := path.Base(p)
	system := !strings.Contains(p, "/") || slices.Contains(sysDirs, path.Dir(p))
	switch {
	case system && slices.Contains(shells, base):
		return program{kind: progShell}
	case system && slices.Contains(utilities, base):
		return program{kind: progBuiltin, name: base}
	}
	return program{kind: progApp}
}

// startProgram sets up a binary or the app in g: its listeners and memory.
func (c *Container) startProgram(g *group, prog program, args []string, vars map[string]string) error {
	ls, mem, err := c.programSetup(prog, args, vars)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.memMB += mem
	g.mu.Unlock()
	for _, l := range ls {
		if !g.addListener(l) {
			_ = l.Close()
		}
	}
	return nil
}

// programSetup: "listen" (or any app with ListenPorts) accepts on host
// ports and greets "hello $PORT"; "mem N" holds N MiB.
func (c *Container) programSetup(prog program, args []string, vars map[string]string) ([]net.Listener, int, error) {
	first := ""
	if len(args) > 0 {
		first = args[0]
	}
	switch {
	case prog.kind == progBinary && first == "mem" && len(args) > 1:
		n, _ := strconv.Atoi(args[1])
		return nil, max(n, 0), nil
	case prog.kind == progBinary && first == "listen":
		port, err := c.hostPort(vars["PORT"])
		if err != nil {
			return nil, 0, err
		}
		l, err := listen(c.b.cfg.HostIP, port, "hello "+vars["PORT"]+"\n")
		if err != nil {
			return nil, 0, err
		}
		return []net.Listener{l}, 0, nil
	case prog.kind == progApp && c.b.cfg.ListenPorts:
		var ls []net.Listener
		for _, m := range c.ports {
			l, err := listen(c.b.cfg.HostIP, m.HostPort, fmt.Sprintf("hello %d\n", m.ContainerPort))
			if err != nil {
				for _, l := range ls {
					_ = l.Close()
				}
				return nil, 0, err
			}
			ls = append(ls, l)
		}
		return ls, 0, nil
	}
	return nil, 0, nil
}

// hostPort is the host port mapped to container port (the first mapping
// when port is empty).
func (c *Container) hostPort(port string) (uint32, error) {
	if port == "" && len(c.ports) > 0 {
		return c.ports[0].HostPort, nil
	}
	n, err := strconv.ParseUint(port, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("PORT %q is not a port", port)
	}
	for _, m := range c.ports {
		if uint64(m.ContainerPort) == n {
			return m.HostPort, nil
		}
	}
	return 0, fmt.Errorf("container port %d is not mapped", n)
}

func listen(hostIP string, port uint32, greeting string) (net.Listener, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(hostIP, strconv.Itoa(int(port))))
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = io.WriteString(conn, greeting)
			_ = conn.Close()
		}
	}()
	return l, nil
}

func portFree(hostIP string, port uint32) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(hostIP, strconv.Itoa(int(port))))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// argv runs one command.
func (s *shell) argv(argv []string, sio stdio) (int, error) {
	args := argv[1:]
	switch argv[0] {
	case ":", "true":
		return 0, nil
	case "false":
		return 1, nil
	case "echo":
		nl := "\n"
		if len(args) > 0 && args[0] == "-n" {
			nl, args = "", args[1:]
		}
		_, _ = io.WriteString(sio.out, strings.Join(args, " ")+nl)
		return 0, nil
	case "pwd":
		_, _ = io.WriteString(sio.out, s.dir+"\n")
		return 0, nil
	case "cd":
		return s.cd(args), nil
	case "exit":
		st := s.last
		if len(args) > 0 {
			st, _ = strconv.Atoi(args[0])
		}
		return st, exitErr(st & 0xff)
	case "exec":
		if len(args) == 0 {
			return 0, nil
		}
		st, err := s.argv(args, sio)
		if err != nil {
			return st, err
		}
		return st, exitErr(st)
	case "export":
		for _, a := range args {
			if k, v, ok := strings.Cut(a, "="); ok {
				s.vars[k] = v
			}
		}
		return 0, nil
	case "env":
		env := s.env()
		sort.Strings(env)
		_, _ = io.WriteString(sio.out, strings.Join(env, "\n")+"\n")
		return 0, nil
	case "trap":
		return s.trap(args, sio), nil
	case "kill":
		return s.kill(args, sio), nil
	case "wait":
		return s.wait()
	case "sleep":
		return s.sleep(args, sio)
	case "cat":
		return s.cat(args, sio), nil
	}
	prog := s.c.resolve(argv[0], s.dir, s.vars)
	switch prog.kind {
	case progShell, progScript:
		return s.nested(prog, argv, sio)
	case progBuiltin:
		return s.argv(append([]string{prog.name}, args...), sio)
	}
	return s.foreground(prog, args)
}

// block waits until the group dies (errDead) or a trapped signal arrives,
// which a foreground command does not survive (128+signal).
func (s *shell) block(timeout <-chan time.Time) (int, error) {
	wake := s.g.wakeCh()
	select {
	case <-s.g.dead:
		return 0, errDead
	case <-wake:
		return 128 + int(s.g.pendingSignal()), nil
	case <-timeout:
		return 0, nil
	}
}

func (s *shell) foreground(prog program, args []string) (int, error) {
	ls, mem, err := s.c.programSetup(prog, args, s.vars)
	if err != nil {
		fmt.Fprintln(s.io.err, err)
		return 2, nil
	}
	s.g.addExternal(1)
	s.g.mu.Lock()
	s.g.memMB += mem
	s.g.mu.Unlock()
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
		s.g.mu.Lock()
		s.g.memMB -= mem
		s.g.mu.Unlock()
		s.g.addExternal(-1)
	}()
	return s.block(nil)
}

func (s *shell) sleep(args []string, sio stdio) (int, error) {
	var d time.Duration
	for _, a := range args {
		if a == "infinity" {
			d = math.MaxInt64
			break
		}
		unit := time.Second
		for suffix, u := range map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour} {
			if strings.HasSuffix(a, suffix) {
				a, unit = strings.TrimSuffix(a, suffix), u
			}
		}
		f, err := strconv.ParseFloat(a, 64)
		if err != nil || f < 0 {
			fmt.Fprintf(sio.err, "sleep: invalid time interval %q\n", a)
			return 1, nil
		}
		d += time.Duration(f * float64(unit))
	}
	s.g.addExternal(1)
	defer s.g.addExternal(-1)
	t := time.NewTimer(d)
	defer t.Stop()
	return s.block(t.C)
}

func (s *shell) cat(args []string, sio stdio) int {
	if len(args) == 0 {
		_, _ = io.Copy(sio.out, sio.in)
		return 0
	}
	st := 0
	for _, a := range args {
		data, err := s.c.readFile(abs(s.dir, a))
		if err != nil {
			fmt.Fprintf(sio.err, "cat: %s: %s\n", a, reason(err))
			st = 1
			continue
		}
		_, _ = sio.out.Write(data)
	}
	return st
}

func (s *shell) wait() (int, error) {
	for _, j := range s.jobs {
		wake := s.g.wakeCh()
		select {
		case <-j.dead:
		case <-s.g.dead:
			return 0, errDead
		case <-wake:
			return 128 + int(s.g.pendingSignal()), nil
		}
	}
	s.jobs = nil
	return 0, nil
}

func (s *shell) kill(args []string, sio stdio) int {
	sig := syscall.SIGTERM
	if len(args) > 0 && strings.HasPrefix(args[0], "-") && len(args[0]) > 1 {
		name := args[0][1:]
		args = args[1:]
		if name == "s" && len(args) > 0 {
			name, args = args[0], args[1:]
		}
		var ok bool
		if sig, ok = signalByName(name); !ok {
			fmt.Fprintf(sio.err, "sh: kill: bad signal %s\n", name)
			return 1
		}
	}
	st := 0
	for _, a := range args {
		pid, err := strconv.Atoi(strings.TrimPrefix(a, "-"))
		g := s.c.groupByPid(pid)
		if err != nil || g == nil {
			fmt.Fprintf(sio.err, "sh: kill: (%s) - No such process\n", a)
			st = 1
			continue
		}
		g.signal(sig)
	}
	return st
}

func (s *shell) trap(args []string, sio stdio) int {
	if len(args) == 0 {
		return 0
	}
	handler, sigs, reset := args[0], args[1:], args[0] == "-"
	if len(args) == 1 {
		sigs, reset = args, true
	}
	st := 0
	for _, name := range sigs {
		if name == "EXIT" || name == "0" {
			s.exitTrap = handler
			if reset {
				s.exitTrap = ""
			}
			continue
		}
		sig, ok := signalByName(name)
		if !ok {
			fmt.Fprintf(sio.err, "sh: trap: bad signal %s\n", name)
			st = 1
			continue
		}
		s.g.setTrap(sig, handler, reset)
	}
	return st
}

var signalNames = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT, "KILL": syscall.SIGKILL,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "PIPE": syscall.SIGPIPE, "ALRM": syscall.SIGALRM,
	"TERM": syscall.SIGTERM, "CHLD": syscall.SIGCHLD, "CONT": syscall.SIGCONT, "STOP": syscall.SIGSTOP,
}

func signalByName(name string) (syscall.Signal, bool) {
	if n, err := strconv.Atoi(name); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), true
	}
	sig, ok := signalNames[strings.TrimPrefix(strings.ToUpper(name), "SIG")]
	return sig, ok
}
