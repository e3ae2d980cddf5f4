package sshd

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// scpCommand matches the commands an OpenSSH client runs for legacy scp
// (scp -t / scp -f), served in-process: the container may have no scp.
var scpCommand = regexp.MustCompile(`^\s*scp($|\s+)`)

// ptyDrain bounds how long output still buffered in a pty is copied after
// the command exits (a background process may hold the terminal open).
const ptyDrain = 2 * time.Second

// session is one "session" channel: its environment, terminal and the one
// command it runs.
type session struct {
	srv *Server
	log *slog.Logger
	ch  ssh.Channel

	mu      sync.Mutex
	env     map[string]string
	ptyReq  *ptyRequest
	ptmx    *os.File
	cmd     *exec.Cmd
	started bool
	done    bool
}

type ptyRequest struct {
	Term          string
	Columns, Rows uint32
	Width, Height uint32
	Modes         string
}

func (s *Server) serveSession(log *slog.Logger, nch ssh.NewChannel) {
	ch, reqs, err := nch.Accept()
	if err != nil {
		log.Info("sshd.session-accept-failed", "error", err)
		return
	}
	sess := &session{srv: s, log: log, ch: ch, env: map[string]string{}}
	for k, v := range s.cfg.Env {
		sess.env[k] = v
	}
	for req := range reqs {
		ok := sess.request(req)
		if req.WantReply {
			req.Reply(ok, nil)
		}
	}
	sess.finish()
}

// request handles one channel request and says whether it succeeded.
// Requests that start work reply before the work writes anything.
func (s *session) request(req *ssh.Request) bool {
	switch req.Type {
	case "env":
		var m struct{ Name, Value string }
		if ssh.Unmarshal(req.Payload, &m) != nil {
			return false
		}
		s.mu.Lock()
		s.env[m.Name] = m.Value
		s.mu.Unlock()
		return true
	case "pty-req":
		var m ptyRequest
		if ssh.Unmarshal(req.Payload, &m) != nil {
			return false
		}
		s.mu.Lock()
		s.ptyReq = &m
		s.env["TERM"] = m.Term
		s.mu.Unlock()
		return true
	case "window-change":
		var m struct{ Columns, Rows, Width, Height uint32 }
		if ssh.Unmarshal(req.Payload, &m) != nil {
			return false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.ptyReq != nil {
			s.ptyReq.Columns, s.ptyReq.Rows = m.Columns, m.Rows
		}
		if s.ptmx != nil {
			setSize(s.ptmx, m.Columns, m.Rows)
		}
		return true
	case "signal":
		var m struct{ Signal string }
		if ssh.Unmarshal(req.Payload, &m) != nil {
			return false
		}
		sig, ok := signalsByName[m.Signal]
		s.mu.Lock()
		defer s.mu.Unlock()
		if ok && s.cmd != nil && s.cmd.Process != nil {
			s.cmd.Process.Signal(sig)
		}
		return ok
	case "shell":
		return s.start(req, "")
	case "exec":
		var m struct{ Command string }
		if ssh.Unmarshal(req.Payload, &m) != nil {
			return false
		}
		if scpCommand.MatchString(m.Command) {
			return s.startSCP(req, m.Command)
		}
		return s.start(req, m.Command)
	case "subsystem":
		var m struct{ Name string }
		if ssh.Unmarshal(req.Payload, &m) != nil || m.Name != "sftp" {
			s.log.Info("sshd.unsupported-subsystem", "subsystem", m.Name)
			return false
		}
		return s.startSFTP(req)
	}
	return false
}

// claim marks the session's one piece of work as started.
func (s *session) claim() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return false
	}
	s.started = true
	return true
}

func reply(req *ssh.Request, ok bool) {
	if req.WantReply {
		req.Reply(ok, nil)
		req.WantReply = false
	}
}

// start runs the shell (command "") or `shell -c command`.
func (s *session) start(req *ssh.Request, command string) bool {
	if !s.claim() {
		return false
	}
	args := []string{}
	if command != "" {
		args = []string{"-c", command}
	}
	cmd := exec.Command(s.srv.shell, args...)
	s.mu.Lock()
	cmd.Env = environment(s.env)
	s.cmd = cmd
	withPty := s.ptyReq != nil
	s.mu.Unlock()
	s.log.Info("sshd.command-starting", "command", command, "pty", withPty)
	var wait func() error
	var err error
	if withPty {
		wait, err = s.runWithPty(req, cmd)
	} else {
		wait, err = s.run(req, cmd)
	}
	if err != nil {
		s.log.Error("sshd.command-failed-to-start", "command", command, "error", err)
		return false
	}
	go func() {
		s.exit(wait())
	}()
	return true
}

// run runs cmd on pipes. Its output is copied only after the reply, and
// the exit status follows all of it: wait returns once both pipes are at
// EOF (every holder of them gone, as OpenSSH waits) and cmd has exited.
func (s *session) run(req *ssh.Request, cmd *exec.Cmd) (func() error, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	reply(req, true)
	go func() {
		io.Copy(stdin, s.ch)
		stdin.Close()
	}()
	var copied sync.WaitGroup
	copied.Add(2)
	go func() { io.Copy(s.ch, stdout); copied.Done() }()
	go func() { io.Copy(s.ch.Stderr(), stderr); copied.Done() }()
	return func() error {
		copied.Wait()
		return cmd.Wait()
	}, nil
}

func (s *session) runWithPty(req *ssh.Request, cmd *exec.Cmd) (func() error, error) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return nil, err
	}
	defer tty.Close()
	s.mu.Lock()
	if err := applyModes(tty, s.ptyReq.Modes); err != nil {
		s.log.Info("sshd.terminal-modes-failed", "error", err)
	}
	setSize(ptmx, s.ptyReq.Columns, s.ptyReq.Rows)
	s.ptmx = ptmx
	s.mu.Unlock()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	reply(req, true)
	go io.Copy(ptmx, s.ch)
	copied := make(chan struct{})
	go func() {
		io.Copy(s.ch, ptmx) // ends with EIO once every holder of the tty is gone
		close(copied)
	}()
	return func() error {
		err := cmd.Wait()
		select {
		case <-copied:
		case <-time.After(ptyDrain):
		}
		return err
	}, nil
}

func setSize(f *os.File, cols, rows uint32) {
	if cols > 0 && rows > 0 {
		pty.Setsize(f, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	}
}

// exit reports how the command ended (exit-status, or exit-signal) and
// closes the channel.
func (s *session) exit(err error) {
	var ee *exec.ExitError
	switch {
	case err == nil:
		s.end("exit-status", ssh.Marshal(struct{ Status uint32 }{0}))
	case errors.As(err, &ee):
		ws, _ := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			s.end("exit-signal", ssh.Marshal(struct {
				Signal     string
				CoreDumped bool
				Error      string
				Lang       string
			}{signalName(ws.Signal()), ws.CoreDump(), "", ""}))
		} else {
			s.end("exit-status", ssh.Marshal(struct{ Status uint32 }{uint32(ws.ExitStatus())}))
		}
	default:
		s.end("exit-status", ssh.Marshal(struct{ Status uint32 }{255}))
	}
}

// end closes the session as OpenSSH's does, once the work's output is
// written: EOF, then the exit status (request kind and payload), then the
// close.
func (s *session) end(kind string, payload []byte) {
	s.ch.CloseWrite()
	s.ch.SendRequest(kind, false, payload)
	s.finish()
}

// finish closes the channel and the pty once.
func (s *session) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.done = true
	s.ch.Close()
	if s.ptmx != nil {
		s.ptmx.Close()
	}
}

func (s *session) startSCP(req *ssh.Request, command string) bool {
	if !s.claim() {
		return false
	}
	reply(req, true)
	go func() {
		err := runSCP(command, s.ch, s.ch.Stderr())
		status := uint32(0)
		if err != nil {
			s.log.Info("sshd.scp-failed", "command", command, "error", err)
			status = 1
		}
		s.end("exit-status", ssh.Marshal(struct{ Status uint32 }{status}))
	}()
	return true
}

func (s *session) startSFTP(req *ssh.Request) bool {
	if !s.claim() {
		return false
	}
	srv, err := sftp.NewServer(s.ch)
	if err != nil {
		s.log.Error("sshd.sftp-failed", "error", err)
		return false
	}
	reply(req, true)
	go func() {
		err := srv.Serve()
		status := uint32(0)
		if err != nil && !errors.Is(err, io.EOF) {
			s.log.Info("sshd.sftp-ended", "error", err)
			status = 1
		}
		s.end("exit-status", ssh.Marshal(struct{ Status uint32 }{status}))
	}()
	return true
}

// environment is a command's environment: a PATH and LANG, then the
// session's variables (which may replace them), then HOME and USER from
// the daemon.
func environment(vars map[string]string) []string {
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=en_US.UTF-8"}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "HOME" && k != "USER" {
			env = append(env, k+"="+vars[k])
		}
	}
	return append(env, "HOME="+os.Getenv("HOME"), "USER="+os.Getenv("USER"))
}

// shellPath is the first shell found, as the reference looks for one.
func shellPath() string {
	for _, sh := range []string{"/bin/bash", "/usr/local/bin/bash", "/bin/sh", "bash", "sh"} {
		if p, err := exec.LookPath(sh); err == nil {
			return p
		}
	}
	return "/bin/sh"
}

var signalsByName = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "FPE": syscall.SIGFPE, "HUP": syscall.SIGHUP,
	"ILL": syscall.SIGILL, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE,
	"QUIT": syscall.SIGQUIT, "SEGV": syscall.SIGSEGV, "TERM": syscall.SIGTERM, "USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2,
}

func signalName(sig syscall.Signal) string {
	for name, s := range signalsByName {
		if s == sig {
			return name
		}
	}
	return "KILL"
}
