package actions

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
)

// syncBuffer is a goroutine-safe log writer.
type syncBuffer = testutil.SyncBuffer

func run(path string) *models.RunAction { return &models.RunAction{Path: path} }

var scripts = map[string]script{
	"ok":       {exit: 0},
	"ok-slow":  {exit: 0, after: 50 * time.Millisecond},
	"fail":     {exit: 1},
	"fail-2":   {exit: 2, after: 20 * time.Millisecond},
	"hello":    {exit: 0, stdout: "hello\n"},
	"block":    {block: true},
	"stubborn": {block: true, ignoreTerm: true},
}

func TestSteps(t *testing.T) {
	tests := []struct {
		name    string
		action  models.ActionInterface
		source  string
		wantErr string // "" = success
		wantRun []string
		wantOut string // substring of stdout
		wantLog string // substring of stderr
	}{
		{name: "run ok", action: run("ok"), wantRun: []string{"ok"}, wantOut: "Exit status 0"},
		{name: "run output", action: run("hello"), wantOut: "hello\nExit status 0\n"},
		{name: "run fails", action: run("fail"), wantErr: "Exited with status 1", wantOut: "Exit status 1"},
		{name: "run fails with source", action: run("fail"), source: "APP/PROC/WEB", wantErr: "APP/PROC/WEB: Exited with status 1"},
		{name: "action source overrides", action: &models.RunAction{Path: "fail", LogSource: "HEALTH"}, source: "APP", wantErr: "HEALTH: Exited with status 1"},
		{name: "suppressed output", action: &models.RunAction{Path: "hello", SuppressLogOutput: true}, wantRun: []string{"hello"}},
		{name: "serial in order", action: models.Serial(run("ok"), run("ok-slow"), run("hello")), wantRun: []string{"ok", "ok-slow", "hello"}},
		{name: "serial stops at failure", action: models.Serial(run("ok"), run("fail"), run("hello")), wantErr: "Exited with status 1", wantRun: []string{"ok", "fail"}},
		{name: "parallel ok", action: models.Parallel(run("ok"), run("ok-slow"))},
		{name: "parallel aggregates", action: models.Parallel(run("fail"), run("ok"), run("fail-2")), wantErr: "Exited with status 1; Exited with status 2"},
		{name: "codependent success stops others", action: models.Codependent(run("ok"), run("block")), wantErr: "Codependent step exited"},
		{name: "codependent failure stops others", action: models.Codependent(run("block"), run("fail")), wantErr: "Exited with status 1"},
		{name: "timeout not reached", action: models.Timeout(run("ok"), time.Second)},
		{name: "timeout exceeded", action: models.Timeout(run("block"), 30*time.Millisecond), wantErr: "exceeded 30ms timeout"},
		{name: "timeout exceeded with reason", action: models.Timeout(models.Codependent(run("block")), 30*time.Millisecond), wantErr: "exceeded 30ms timeout"},
		{name: "try swallows", action: models.Serial(models.Try(run("fail")), run("ok")), wantRun: []string{"fail", "ok"}},
		{name: "emit progress success", action: models.EmitProgressFor(run("ok"), "starting", "done", "failed"), wantOut: "starting\nExit status 0\ndone\n"},
		{name: "emit progress failure", action: models.EmitProgressFor(run("fail"), "starting", "done", "Failed to run"), wantErr: "Exited with status 1", wantLog: "Failed to run: Exited with status 1\n"},
		{name: "emit progress timeout", action: models.EmitProgressFor(models.Timeout(run("block"), 20*time.Millisecond), "", "", "Oops"), wantErr: "exceeded 20ms timeout", wantLog: "Oops: exceeded 20ms timeout\n"},
		{name: "unknown program", action: run("nope"), wantErr: "run nope: no such file: nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeContainer(scripts)
			var out, errLog syncBuffer
			step, err := Build(models.WrapAction(tt.action), Deps{Container: c, Stdout: &out, Stderr: &errLog, LogSource: tt.source, GracefulShutdown: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = step.Run(context.Background())
			if time.Since(start) > 2*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if tt.wantRun != nil && !reflect.DeepEqual(c.paths(), tt.wantRun) {
				t.Errorf("ran %v, want %v", c.paths(), tt.wantRun)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout %q, want %q", out.String(), tt.wantOut)
			}
			if !strings.Contains(errLog.String(), tt.wantLog) {
				t.Errorf("stderr %q, want %q", errLog.String(), tt.wantLog)
			}
			if tt.name == "suppressed output" && out.String() != "" {
				t.Errorf("stdout %q, want nothing", out.String())
			}
		})
	}
}

func TestRunSpec(t *testing.T) {
	c := newFakeContainer(scripts)
	rl := &models.ResourceLimits{}
	rl.SetNofile(4096)
	a := &models.RunAction{
		Path: "ok", Args: []string{"-a", "b"}, Dir: "/home/vcap", User: "vcap",
		Env:            []*models.EnvironmentVariable{{Name: "PORT", Value: "8080"}},
		ResourceLimits: rl,
	}
	step, err := Build(models.WrapAction(a), Deps{Container: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := step.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := c.runs[0]
	if !reflect.DeepEqual(got.Args, []string{"-a", "b"}) || got.Dir != "/home/vcap" || got.User != "vcap" ||
		!reflect.DeepEqual(got.Env, []string{"PORT=8080"}) || got.NoFile != 4096 {
		t.Errorf("spec = %+v", got)
	}
}

func TestRunOutOfMemory(t *testing.T) {
	c := newFakeContainer(scripts)
	c.oom = true
	step, _ := Build(models.WrapAction(run("fail")), Deps{Container: c, LogSource: "APP"})
	err := step.Run(context.Background())
	if err == nil || err.Error() != "APP: Exited with status 1 (out of memory)" {
		t.Fatalf("err = %v", err)
	}
}

func TestCancelSignalsProcess(t *testing.T) {
	c := newFakeContainer(scripts)
	step, _ := Build(models.WrapAction(models.Parallel(run("block"), run("block"))), Deps{Container: c})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	err := step.Run(ctx)
	if !errors.Is(err, ErrCancelled) {
		t.Fatalf("err = %v, want cancelled", err)
	}
	for _, p := range c.procs {
		if s := p.signals(); len(s) != 1 || s[0] != syscall.SIGTERM {
			t.Errorf("signals = %v, want [SIGTERM]", s)
		}
	}
}

func TestCancelKillsAfterGracePeriod(t *testing.T) {
	c := newFakeContainer(scripts)
	var out syncBuffer
	step, _ := Build(models.WrapAction(run("stubborn")), Deps{Container: c, Stdout: &out, GracefulShutdown: 30 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	err := step.Run(ctx)
	var ex *ExceededGracefulShutdownError
	if !errors.As(err, &ex) || !errors.Is(err, ErrCancelled) {
		t.Fatalf("err = %v", err)
	}
	if s := c.procs[0].signals(); len(s) != 2 || s[0] != syscall.SIGTERM || s[1] != syscall.SIGKILL {
		t.Errorf("signals = %v", s)
	}
	if !strings.Contains(out.String(), "Exit status 137 (exceeded 30ms graceful shutdown interval)") {
		t.Errorf("stdout = %q", out.String())
	}
}

func TestCancelBeforeStart(t *testing.T) {
	c := newFakeContainer(scripts)
	step, _ := Build(models.WrapAction(models.Serial(run("ok"), run("ok"))), Deps{Container: c})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := step.Run(ctx); !errors.Is(err, ErrCancelled) {
		t.Fatalf("err = %v", err)
	}
	if len(c.paths()) != 0 {
		t.Errorf("ran %v", c.paths())
	}
}

func TestTimeoutWrapsReason(t *testing.T) {
	// A step that fails with a reason as it is cancelled.
	inner := StepFunc(func(ctx context.Context) error {
		<-ctx.Done()
		return &EmittableError{Msg: "Downloading droplet failed"}
	})
	err := (&timeoutStep{step: inner, timeout: 10 * time.Millisecond}).Run(context.Background())
	if err == nil || err.Error() != "exceeded 10ms timeout; Downloading droplet failed" {
		t.Fatalf("err = %v", err)
	}
}

func TestBuildErrors(t *testing.T) {
	c := newFakeContainer(scripts)
	if _, err := Build(&models.Action{}, Deps{Container: c}); err == nil {
		t.Error("empty action built")
	}
	if _, err := Build(models.WrapAction(run("ok")), Deps{}); err == nil {
		t.Error("built without a container")
	}
	if _, err := Build(models.WrapAction(models.Serial(run("ok"), &models.TimeoutAction{Action: models.WrapAction(run("ok"))})), Deps{Container: c}); err == nil {
		t.Error("timeout without duration built")
	}
}
