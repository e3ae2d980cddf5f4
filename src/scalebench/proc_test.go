package scalebench

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestSampleSelfAgreesWithGetrusage(t *testing.T) {
	// Burn some CPU so the figure is not zero.
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	_ = x
	s, err := SampleSelf()
	if err != nil {
		t.Fatal(err)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	rusage := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	if s.RSSBytes <= 0 || s.PeakRSSBytes < s.RSSBytes {
		t.Errorf("rss %d, peak %d: want 0 < rss <= peak", s.RSSBytes, s.PeakRSSBytes)
	}
	// /proc rounds down to 10 ms ticks and was read first.
	if s.CPUSeconds <= 0 || s.CPUSeconds > rusage+0.011 {
		t.Errorf("cpu from /proc %.3fs, getrusage %.3fs: want 0 < proc <= rusage", s.CPUSeconds, rusage)
	}
}

func TestSampleChildCPUGrows(t *testing.T) {
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var s ProcSample
	deadline := time.Now().Add(60 * time.Second)
	for s.CPUSeconds < 0.05 {
		if time.Now().After(deadline) {
			t.Fatalf("a busy child used %.2fs of CPU in 60s; want 0.05", s.CPUSeconds)
		}
		time.Sleep(20 * time.Millisecond)
		var err error
		if s, err = SampleProcess(cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
	}
	if s.PID != cmd.Process.Pid || s.RSSBytes <= 0 {
		t.Errorf("sample %+v: want the child's pid and a resident size", s)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := SampleProcess(cmd.Process.Pid); err == nil {
		t.Error("sampling a reaped process succeeded")
	}
}

func TestSampleEveryRecordsSeries(t *testing.T) {
	rec := NewRecorder(time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		SampleEvery(ctx, 10*time.Millisecond, map[string]int{"self": syscall.Getpid(), "gone": -1}, rec)
		close(done)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for len(rec.Series("self rss MB").Points) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("no three samples in 60s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if s := rec.Series("self rss MB"); s.Last() <= 0 {
		t.Errorf("rss series %+v: want positive values", s)
	}
	for _, s := range rec.All() {
		if s.Name == "gone rss MB" {
			t.Errorf("a missing process got a series: %+v", s)
		}
	}
}
