package sim

// The interpreter of the small shell. A script runs in one goroutine; a
// background job in a goroutine and a process group of its own.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// exitErr unwinds the shell for "exit N" (and the end of "exec").
type exitErr int

func (e exitErr) Error() string { return "exit " + strconv.Itoa(int(e)) }

// errDead unwinds a shell whose process group was killed.
var errDead = errors.New("killed by a signal")

type shell struct {
	c        *Container
	g        *group
	pid      int // $$
	vars     map[string]string
	args     []string // $0, $1, ...
	dir      string
	io       stdio
	last     int
	lastBg   int
	jobs     []*group
	exitTrap string
}

func newShell(c *Container, g *group, env []string, dir string, sio stdio) *shell {
	return &shell{c: c, g: g, pid: g.pid, vars: envMap(env), dir: dir, io: sio}
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// clone is a subshell in group g (a background job or a nested script).
func (s *shell) clone(g *group, sio stdio) *shell {
	n := *s
	n.g, n.io, n.jobs, n.exitTrap = g, sio, nil, ""
	n.vars = make(map[string]string, len(s.vars))
	for k, v := range s.vars {
		n.vars[k] = v
	}
	return &n
}

// finish ends the shell's group with how the shell ended.
func (s *shell) finish(status int, err error) {
	var ex exitErr
	switch {
	case errors.Is(err, errDead):
		return // the group has its status
	case errors.As(err, &ex):
		status = int(ex)
	}
	s.g.exited(status)
}

// exec runs the program Run was given: a shell, a script file or a builtin.
func (s *shell) exec(prog program, argv []string) (int, error) {
	switch prog.kind {
	case progShell:
		rest := argv[1:]
		if len(rest) >= 2 && rest[0] == "-c" {
			return s.script(rest[1], rest[2:])
		}
		if len(rest) >= 1 {
			data, err := s.c.readFile(abs(s.dir, rest[0]))
			if err != nil {
				fmt.Fprintf(s.io.err, "sh: %v\n", err)
				return 127, nil
			}
			return s.script(string(data), rest)
		}
		data, _ := io.ReadAll(s.io.in)
		return s.script(string(data), argv[:1])
	case progScript:
		return s.script(prog.body, argv)
	}
	return s.argv(append([]string{prog.name}, argv[1:]...), s.io)
}

// script runs src with args as $0, $1, ...
func (s *shell) script(src string, args []string) (int, error) {
	l, err := parse(src)
	if err != nil {
		fmt.Fprintln(s.io.err, err)
		return 2, nil
	}
	if len(args) == 0 {
		args = []string{"sh"}
	}
	s.args = args
	st, err := s.list(l)
	if err == nil || !errors.Is(err, errDead) {
		if h := s.exitTrap; h != "" {
			s.exitTrap = ""
			if hl, perr := parse(h); perr == nil {
				_, _ = s.list(hl)
			}
		}
	}
	return st, err
}

func (s *shell) list(l *list) (int, error) {
	st := s.last
	for i, ao := range l.items {
		if l.bg[i] {
			s.background(ao)
			st = 0
		} else {
			var err error
			if st, err = s.andOr(ao); err != nil {
				return st, err
			}
		}
		s.last = st
		if err := s.checkpoint(); err != nil {
			return st, err
		}
	}
	return st, nil
}

// checkpoint stops a killed shell and runs the handlers of trapped signals.
func (s *shell) checkpoint() error {
	select {
	case <-s.g.dead:
		return errDead
	default:
	}
	for _, h := range s.g.takePending() {
		l, err := parse(h)
		if err != nil {
			fmt.Fprintln(s.io.err, err)
			continue
		}
		saved := s.last
		if _, err := s.list(l); err != nil {
			return err
		}
		s.last = saved
	}
	return nil
}

func (s *shell) andOr(ao andOr) (int, error) {
	st, err := s.command(ao.cmds[0])
	for i, op := range ao.ops {
		if err != nil {
			return st, err
		}
		if (op == "&&") == (st == 0) {
			st, err = s.command(ao.cmds[i+1])
		}
	}
	return st, err
}

func (s *shell) background(ao andOr) {
	g := s.c.newGroup(true, s.g)
	b := s.clone(g, s.io)
	s.jobs = append(s.jobs, g)
	s.lastBg = g.pid
	go func() {
		st, err := b.andOr(ao)
		b.finish(st, err)
	}()
}

func (s *shell) command(cmd any) (int, error) {
	switch c := cmd.(type) {
	case *ifCmd:
		st, err := s.list(c.cond)
		switch {
		case err != nil:
			return st, err
		case st == 0:
			return s.list(c.then)
		case c.els != nil:
			return s.list(c.els)
		}
		return 0, nil
	case *whileCmd:
		for {
			st, err := s.list(c.cond)
			if err != nil {
				return st, err
			}
			if st != 0 {
				return 0, nil
			}
			if _, err := s.list(c.body); err != nil {
				return 0, err
			}
			if err := s.checkpoint(); err != nil {
				return 0, err
			}
		}
	}
	return s.simple(cmd.(*simpleCmd))
}

var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

func (s *shell) simple(sc *simpleCmd) (int, error) {
	argv := s.expand(sc.words)
	sio := s.io
	for _, r := range sc.redirs {
		target := strings.Join(s.expand([]word{r.target}), " ")
		if r.op == ">&" {
			switch target {
			case "1":
				setFd(&sio, r.fd, sio.out)
			case "2":
				setFd(&sio, r.fd, sio.err)
			}
			continue
		}
		p := abs(s.dir, target)
		if r.op == "<" {
			data, err := s.c.readFile(p)
			if err != nil {
				fmt.Fprintf(sio.err, "sh: can't open %s: %v\n", target, reason(err))
				return 1, nil
			}
			sio.in = bytes.NewReader(data)
			continue
		}
		w, err := s.c.openWrite(p, r.op == ">>")
		if err != nil {
			fmt.Fprintf(sio.err, "sh: can't create %s: %v\n", target, reason(err))
			return 1, nil
		}
		defer w.Close()
		setFd(&sio, r.fd, w)
	}
	for len(argv) > 0 && assignment.MatchString(argv[0]) {
		k, v, _ := strings.Cut(argv[0], "=")
		s.vars[k] = v
		argv = argv[1:]
	}
	if len(argv) == 0 {
		return 0, nil
	}
	return s.argv(argv, sio)
}

func setFd(sio *stdio, fd int, w io.Writer) {
	switch fd {
	case 1:
		sio.out = w
	case 2:
		sio.err = w
	}
}

// reason is an error's cause as a shell words it.
func reason(err error) string {
	var u interface{ Unwrap() error }
	for errors.As(err, &u) && u.Unwrap() != nil {
		err = u.Unwrap()
	}
	msg := err.Error()
	if msg == "" {
		return "error"
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

// expand turns words into fields: parameters expanded, unquoted ones split
// on white space.
func (s *shell) expand(words []word) []string {
	var out []string
	for _, w := range words {
		var cur strings.Builder
		have := false
		for _, p := range w {
			if !p.param {
				cur.WriteString(p.text)
				have = have || p.quoted || p.text != ""
				continue
			}
			v := s.param(p.text)
			if p.quoted {
				cur.WriteString(v)
				have = true
				continue
			}
			for i, f := range strings.Fields(v) {
				if i > 0 {
					out = append(out, cur.String())
					cur.Reset()
				}
				cur.WriteString(f)
				have = true
			}
		}
		if have {
			out = append(out, cur.String())
		}
	}
	return out
}

func (s *shell) param(name string) string {
	switch name {
	case "$":
		return strconv.Itoa(s.pid)
	case "?":
		return strconv.Itoa(s.last)
	case "!":
		return strconv.Itoa(s.lastBg)
	case "#":
		return strconv.Itoa(max(len(s.args)-1, 0))
	case "@", "*":
		if len(s.args) > 1 {
			return strings.Join(s.args[1:], " ")
		}
		return ""
	}
	if n, err := strconv.Atoi(name); err == nil {
		if n < len(s.args) {
			return s.args[n]
		}
		return ""
	}
	return s.vars[name]
}

func (s *shell) env() []string {
	env := make([]string, 0, len(s.vars))
	for k, v := range s.vars {
		env = append(env, k+"="+v)
	}
	return env
}

// nested runs a script file or "sh -c" in the shell's group.
func (s *shell) nested(prog program, argv []string, sio stdio) (int, error) {
	n := s.clone(s.g, sio)
	st, err := n.exec(prog, argv)
	var ex exitErr
	if errors.As(err, &ex) {
		return int(ex), nil
	}
	return st, err
}

func (s *shell) cd(args []string) int {
	dir := s.vars["HOME"]
	if len(args) > 0 {
		dir = args[0]
	}
	p := abs(s.dir, dir)
	if f, ok := s.c.lookup(p); !ok || !f.dir {
		fmt.Fprintf(s.io.err, "sh: cd: can't cd to %s\n", dir)
		return 2
	}
	s.dir = p
	s.vars["PWD"] = p
	return 0
}
