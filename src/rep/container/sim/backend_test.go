package sim_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/containertest"
	"github.com/diego-go/diego/src/rep/container/host"
	"github.com/diego-go/diego/src/rep/container/sim"
)

func create(t *testing.T, b *sim.Backend, spec container.Spec) container.Container {
	t.Helper()
	c, err := b.Create(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitExit waits (bounded) for p to exit and returns its status.
func waitExit(t *testing.T, p container.Process) int {
	t.Helper()
	ch := make(chan int, 1)
	go func() { s, _ := p.Wait(); ch <- s }()
	select {
	case s := <-ch:
		return s
	case <-time.After(30 * time.Second):
		t.Fatal("process did not exit")
		return 0
	}
}

func TestAppStartsAfterDelayAndCrashes(t *testing.T) {
	b := newBackend(t, func(c *sim.Config) { c.StartDelay = host.Duration(300 * time.Millisecond) })
	c := create(t, b, container.Spec{Handle: "app", Ports: []uint32{8080}})
	if err := b.Healthy(t.Context(), "app"); err == nil {
		t.Fatal("Healthy with no process running")
	}
	p, err := c.Run(t.Context(), container.ProcessSpec{Path: "/tmp/lifecycle/launcher", Args: []string{"app"}}, container.ProcessIO{})
	if err != nil {
		t.Fatal(err)
	}
	// Not started within a context shorter than the delay...
	short, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if err := b.Healthy(short, "app"); err == nil {
		t.Error("Healthy before the start delay passed")
	}
	// ...started once it has passed.
	if err := b.Healthy(t.Context(), "app"); err != nil {
		t.Fatalf("Healthy: %v", err)
	}
	if err := b.Crash("app"); err != nil {
		t.Fatal(err)
	}
	if s := waitExit(t, p); s != sim.DefaultCrashExitStatus {
		t.Errorf("crashed app exited %d, want %d", s, sim.DefaultCrashExitStatus)
	}
	if err := b.Crash("app"); err == nil {
		t.Error("Crash with nothing running succeeded")
	}
	if err := b.Crash("unknown"); !errors.Is(err, container.ErrNotFound) {
		t.Errorf("Crash(unknown): %v", err)
	}
	// The app ends on SIGTERM like a process would.
	p, _ = c.Run(t.Context(), container.ProcessSpec{Path: "/tmp/lifecycle/launcher"}, container.ProcessIO{})
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if s := waitExit(t, p); s != 143 {
		t.Errorf("app after SIGTERM exited %d, want 143", s)
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("signal after exit: %v", err)
	}
}

// TestAppCostsNoGoroutine: thousands of running apps leave the goroutine
// count where it was.
func TestAppCostsNoGoroutine(t *testing.T) {
	b := newBackend(t, func(c *sim.Config) { c.MaxContainers = 2000 })
	before := runtime.NumGoroutine()
	for i := range 2000 {
		h := "app-" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + itoa(i)
		c := create(t, b, container.Spec{Handle: h, Ports: []uint32{8080, 2222}, Env: []string{"A=1"}})
		if _, err := c.Run(t.Context(), container.ProcessSpec{Path: "/tmp/lifecycle/launcher"}, container.ProcessIO{}); err != nil {
			t.Fatal(err)
		}
	}
	if after := runtime.NumGoroutine(); after > before+5 {
		t.Errorf("2000 running apps: %d goroutines, %d before", after, before)
	}
	cs, _ := b.Containers(t.Context())
	for _, c := range cs {
		if err := b.Destroy(t.Context(), c.Handle()); err != nil {
			t.Fatal(err)
		}
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var s []byte
	for ; i > 0; i /= 10 {
		s = append([]byte{byte('0' + i%10)}, s...)
	}
	return string(s)
}

func TestListenPorts(t *testing.T) {
	b := newBackend(t, func(c *sim.Config) { c.ListenPorts = true; c.PortRangeStart, c.PortRangeEnd = 47100, 47200 })
	c := create(t, b, container.Spec{Handle: "l", Ports: []uint32{8080}})
	t.Cleanup(func() { _ = b.Destroy(context.Background(), "l") })
	if _, err := c.Run(t.Context(), container.ProcessSpec{Path: "/app"}, container.ProcessIO{}); err != nil {
		t.Fatal(err)
	}
	info, _ := c.Info(t.Context())
	addr := info.HostIP + ":" + itoa(int(info.Ports[0].HostPort))
	var line string
	testutil.WaitFor(t, 10*time.Second, "the app to answer", func() bool {
		var err error
		line, err = containertest.ReadLine(addr)
		return err == nil
	})
	if line != "hello 8080\n" {
		t.Errorf("app greeted %q", line)
	}
}

func TestScriptsAndShell(t *testing.T) {
	b := newBackend(t)
	c := create(t, b, container.Spec{Handle: "sh", Env: []string{"HOME=/home/vcap"}})
	for script, want := range map[string]string{
		`echo a && false || echo b; echo "$#" $0`:              "a\nb\n0 sh\n",
		`i=0; while false; do :; done; echo done; exit 4`:      "done\n",
		`echo x > /f; echo y >> /f; cat /f; cat /missing 2>&1`: "x\ny\ncat: /missing: No such file or directory\n",
		`echo 'single $X' "double $HOME" \$HOME`:               "single $X double /home/vcap $HOME\n",
	} {
		status, out := containertest.RunOutput(t, c, container.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", script}})
		if out != want {
			t.Errorf("%q: output %q, want %q (status %d)", script, out, want, status)
		}
	}
	status, out := containertest.RunOutput(t, c, container.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "echo (x)"}})
	if status != 2 || !strings.Contains(out, "not supported") {
		t.Errorf("unsupported syntax: status %d output %q", status, out)
	}
}
