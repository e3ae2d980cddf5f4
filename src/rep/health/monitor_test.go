package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// fakeChecker fails until healthyAfter calls, then passes until failAfter
// calls (0 = never fails again).
type fakeChecker struct {
	name         string
	healthyAfter int64
	failAfter    int64
	every        time.Duration
	calls        atomic.Int64
}

func (f *fakeChecker) Interval() time.Duration { return f.every }

func (f *fakeChecker) Check(context.Context) error {
	n := f.calls.Add(1)
	if n <= f.healthyAfter || (f.failAfter > 0 && n > f.failAfter) {
		return &Error{Msg: fmt.Sprintf("%s failed (call %d)", f.name, n)}
	}
	return nil
}

type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	e.log = append(e.log, s)
	e.mu.Unlock()
}

func (e *events) get() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.log...)
}

func (e *events) Write(p []byte) (int, error) {
	e.add(strings.TrimSpace(string(p)))
	return len(p), nil
}

func newMonitor(ev *events, liveness ...Checker) *Monitor {
	return &Monitor{
		Liveness:        liveness,
		StartTimeout:    200 * time.Millisecond,
		StartInterval:   10 * time.Millisecond,
		HealthyInterval: 20 * time.Millisecond,
		OnHealthy:       func() { ev.add("HEALTHY") },
		OnReady:         func(r bool) { ev.add(fmt.Sprint("READY ", r)) },
	}
}

func TestMonitorNeverHealthy(t *testing.T) {
	ev := &events{}
	var log, hlog events
	m := newMonitor(ev, &fakeChecker{name: "web", healthyAfter: 1 << 30})
	m.Log, m.HealthLog = &log, &hlog
	start := time.Now()
	err := m.Run(context.Background())
	var ce *CrashError
	if !errors.As(err, &ce) || !errors.Is(err, ErrNeverHealthy) {
		t.Fatalf("err = %v", err)
	}
	if !strings.HasPrefix(ce.Reason, "Instance never healthy after 2") || !strings.Contains(ce.Reason, "ms: web failed (call ") {
		t.Errorf("reason = %q", ce.Reason)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > time.Second {
		t.Errorf("gave up after %s", d)
	}
	if len(ev.get()) != 0 {
		t.Errorf("events %v", ev.get())
	}
	l := log.get()
	if len(l) != 2 || l[0] != "Starting health monitoring of container" || !strings.HasSuffix(l[1], ": startup health check never passed.") {
		t.Errorf("log = %q", l)
	}
}

func TestMonitorHealthyThenUnhealthy(t *testing.T) {
	ev := &events{}
	var log events
	web := &fakeChecker{name: "web", healthyAfter: 3, failAfter: 6}
	other := &fakeChecker{name: "other"}
	m := newMonitor(ev, web, other)
	m.Log = &log
	err := m.Run(context.Background())
	if !errors.Is(err, ErrUnhealthy) || err.Error() != "Instance became unhealthy: web failed (call 7)" {
		t.Fatalf("err = %v", err)
	}
	if got := ev.get(); len(got) != 1 || got[0] != "HEALTHY" {
		t.Errorf("events %v", got)
	}
	l := log.get()
	if len(l) != 3 || l[1] != "Container became healthy" || l[2] != "Container became unhealthy" {
		t.Errorf("log = %q", l)
	}
}

func TestMonitorPerCheckInterval(t *testing.T) {
	ev := &events{}
	slow := &fakeChecker{name: "slow", every: time.Hour}
	fast := &fakeChecker{name: "fast"}
	m := newMonitor(ev, slow, fast)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if err := m.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if n := slow.calls.Load(); n != 1 {
		t.Errorf("slow check ran %d times, want 1 (startup only)", n)
	}
	if n := fast.calls.Load(); n < 3 {
		t.Errorf("fast check ran %d times", n)
	}
}

func TestMonitorNoChecksIsHealthy(t *testing.T) {
	ev := &events{}
	m := newMonitor(ev)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	if err := m.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if got := ev.get(); len(got) != 1 || got[0] != "HEALTHY" {
		t.Errorf("events %v", got)
	}
}

func TestMonitorCancelledWhileStarting(t *testing.T) {
	m := newMonitor(&events{}, &fakeChecker{name: "web", healthyAfter: 1 << 30})
	m.StartTimeout = 0 // forever
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	if err := m.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// flappingChecker fails its first 2 calls, passes calls 3-5, fails 6-8
// and passes again from call 9.
type flappingChecker struct {
	calls atomic.Int64
}

func (f *flappingChecker) Interval() time.Duration { return 0 }
func (f *flappingChecker) Check(context.Context) error {
	n := f.calls.Add(1)
	if n <= 2 || (n >= 6 && n <= 8) {
		return errors.New("not ready")
	}
	return nil
}

func TestMonitorReadiness(t *testing.T) {
	ev := &events{}
	m := newMonitor(ev, &fakeChecker{name: "web"})
	m.Readiness = []Checker{&flappingChecker{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if len(ev.get()) >= 4 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	var ready []string
	for _, e := range ev.get() {
		if strings.HasPrefix(e, "READY") {
			ready = append(ready, e)
		}
	}
	want := []string{"READY true", "READY false", "READY true"}
	if len(ready) < 3 || strings.Join(ready[:3], ",") != strings.Join(want, ",") {
		t.Errorf("readiness events %v, want %v", ready, want)
	}
}

func TestMonitorRealTCPListenerStartsLate(t *testing.T) {
	addr := closedAddr(t)
	c, err := NewChecker(&models.Check{TcpCheck: &models.TCPCheck{Port: 8080, ConnectTimeoutMs: 100}}, resolverTo(addr))
	if err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	m := newMonitor(ev, c)
	m.StartTimeout = 2 * time.Second
	time.AfterFunc(50*time.Millisecond, func() {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
			return
		}
		t.Cleanup(func() { l.Close() })
	})
	ctx, cancel := context.WithCancel(context.Background())
	m.OnHealthy = func() { ev.add("HEALTHY"); cancel() }
	if err := m.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if got := ev.get(); len(got) != 1 {
		t.Errorf("events %v", got)
	}
}

// timedChecker records when it is called and fails the first fails calls.
type timedChecker struct {
	mu    sync.Mutex
	at    []time.Time
	fails int
}

func (c *timedChecker) Interval() time.Duration { return 0 }

func (c *timedChecker) Check(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = append(c.at, time.Now())
	if len(c.at) <= c.fails {
		return &Error{Msg: "not yet"}
	}
	return nil
}

// TestMonitorStartRamp: start-up checks retry after StartRamp, doubling up
// to StartInterval; a negative ramp keeps the reference's fixed interval.
func TestMonitorStartRamp(t *testing.T) {
	c := &timedChecker{fails: 6}
	m := &Monitor{Liveness: []Checker{c}, StartInterval: 80 * time.Millisecond, StartRamp: 10 * time.Millisecond,
		HealthyInterval: time.Hour, OnHealthy: func() {}}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	healthy := make(chan struct{})
	m.OnHealthy = func() { close(healthy); cancel() }
	_ = m.Run(ctx)
	<-healthy
	// pauses: 10, 20, 40, 80, 80, 80 ms
	want := []time.Duration{10, 20, 40, 80, 80, 80}
	if len(c.at) != 7 {
		t.Fatalf("%d checks, want 7", len(c.at))
	}
	for i, w := range want {
		got := c.at[i+1].Sub(c.at[i])
		if got < w*time.Millisecond-2*time.Millisecond || got > w*time.Millisecond+40*time.Millisecond {
			t.Errorf("pause %d: %s, want about %dms", i, got, w)
		}
	}

	fixed := &timedChecker{fails: 2}
	m = &Monitor{Liveness: []Checker{fixed}, StartInterval: 50 * time.Millisecond, StartRamp: -1, HealthyInterval: time.Hour}
	ctx2, cancel2 := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel2()
	m.OnHealthy = cancel2
	_ = m.Run(ctx2)
	for i := 1; i < len(fixed.at); i++ {
		if got := fixed.at[i].Sub(fixed.at[i-1]); got < 48*time.Millisecond {
			t.Errorf("fixed interval pause %d: %s, want 50ms", i, got)
		}
	}
}

// TestMonitorDeclarativeWording: a check_definition's failures are worded
// as the reference's healthcheck binary words them (cmd/healthcheck/main.go)
// inside the executor's reasons (depot/steps/health_check_step.go).
func TestMonitorDeclarativeWording(t *testing.T) {
	m := newMonitor(&events{}, &fakeChecker{name: "web", healthyAfter: 1 << 30})
	m.Declarative = true
	var ce *CrashError
	if err := m.Run(context.Background()); !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	var attempts, call int
	rest, ok := strings.CutPrefix(ce.Reason, "Instance never healthy after ")
	d, after, _ := strings.Cut(rest, ": ")
	elapsed, err := time.ParseDuration(d)
	if !ok {
		t.Fatalf("reason = %q", ce.Reason)
	}
	if err != nil || elapsed < 200*time.Millisecond {
		t.Fatalf("reason = %q (elapsed %s)", ce.Reason, elapsed)
	}
	if n, err := fmt.Sscanf(after, "Timed out after 200ms (%d attempts) waiting for startup check to succeed: web failed (call %d)", &attempts, &call); n != 2 || err != nil || attempts < 2 || call > attempts {
		t.Fatalf("reason = %q: %v", ce.Reason, err)
	}

	// Liveness: the failing check, then the reference's word for each
	// other check it cancelled.
	m = newMonitor(&events{}, &fakeChecker{name: "web", failAfter: 2}, &fakeChecker{name: "other"})
	m.Declarative = true
	want := "Instance became unhealthy: Liveness check unsuccessful: web failed (call 3); Failed to invoke process: cancelled"
	if err := m.Run(context.Background()); err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestMonitorNothingToMonitor: without checks the instance is healthy at
// once and, as in the reference (no health step), nothing is logged.
func TestMonitorNothingToMonitor(t *testing.T) {
	ev := &events{}
	var log events
	m := newMonitor(ev)
	m.Log = &log
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); len(ev.get()) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("never healthy")
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if got := ev.get(); len(got) != 1 || got[0] != "HEALTHY" || len(log.get()) != 0 {
		t.Errorf("events %v, log %q", got, log.get())
	}
}
