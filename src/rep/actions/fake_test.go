package actions

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/diego-go/diego/src/rep/container"
)

// script decides how a fake process behaves, by the process's Path.
type script struct {
	exit       int
	after      time.Duration // exit after this long...
	block      bool          // ...or only when signalled
	ignoreTerm bool          // SIGTERM does nothing; only SIGKILL ends it
	stdout     string
}

// fakeContainer records Run and StreamIn calls; scripts decide exit codes
// and timing.
type fakeContainer struct {
	mu        sync.Mutex
	scripts   map[string]script
	runs      []container.ProcessSpec
	procs     []*fakeProcess
	streamed  map[string]map[string]string // dir -> file name -> contents
	oom       bool
	runErr    error
	streamErr error
}

func newFakeContainer(scripts map[string]script) *fakeContainer {
	return &fakeContainer{scripts: scripts, streamed: map[string]map[string]string{}}
}

func (c *fakeContainer) Handle() string { return "fake" }

func (c *fakeContainer) Info(context.Context) (container.Info, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return container.Info{Handle: "fake", State: "active", OOMKilled: c.oom}, nil
}

func (c *fakeContainer) Run(ctx context.Context, spec container.ProcessSpec, pio container.ProcessIO) (container.Process, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.runs = append(c.runs, spec)
	if c.runErr != nil {
		return nil, c.runErr
	}
	sc, ok := c.scripts[spec.Path]
	if !ok {
		return nil, fmt.Errorf("no such file: %s", spec.Path)
	}
	if sc.stdout != "" && pio.Stdout != nil {
		io.WriteString(pio.Stdout, sc.stdout)
	}
	p := &fakeProcess{id: fmt.Sprint(len(c.runs)), done: make(chan struct{}), sig: make(chan os.Signal, 4)}
	c.procs = append(c.procs, p)
	go p.run(sc)
	return p, nil
}

func (c *fakeContainer) StreamIn(ctx context.Context, dir string, r io.Reader) error {
	files := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		files[hdr.Name] = string(b)
		if hdr.Typeflag == tar.TypeSymlink {
			files[hdr.Name] = "->" + hdr.Linkname
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.streamErr != nil {
		return c.streamErr
	}
	c.streamed[dir] = files
	return nil
}

func (c *fakeContainer) StreamOut(context.Context, string) (io.ReadCloser, error) {
	return nil, errors.New("not implemented")
}
func (c *fakeContainer) Stop(context.Context, bool) error { return nil }
func (c *fakeContainer) Metrics(context.Context) (container.Metrics, error) {
	return container.Metrics{}, nil
}

func (c *fakeContainer) paths() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, r := range c.runs {
		out = append(out, r.Path)
	}
	return out
}

type fakeProcess struct {
	id     string
	done   chan struct{}
	sig    chan os.Signal
	mu     sync.Mutex
	status int
	seen   []os.Signal
}

func (p *fakeProcess) run(sc script) {
	var timer <-chan time.Time
	if !sc.block {
		timer = time.After(sc.after)
	}
	status := sc.exit
loop:
	for {
		select {
		case <-timer:
			break loop
		case s := <-p.sig:
			if s == syscall.SIGKILL {
				status = 137
				break loop
			}
			if s == syscall.SIGTERM && !sc.ignoreTerm {
				status = 143
				break loop
			}
		}
	}
	p.mu.Lock()
	p.status = status
	p.mu.Unlock()
	close(p.done)
}

func (p *fakeProcess) ID() string { return p.id }

func (p *fakeProcess) Wait() (int, error) {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status, nil
}

func (p *fakeProcess) Signal(s os.Signal) error {
	p.mu.Lock()
	p.seen = append(p.seen, s)
	p.mu.Unlock()
	select {
	case p.sig <- s:
	default:
	}
	return nil
}

func (p *fakeProcess) signals() []os.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]os.Signal(nil), p.seen...)
}
