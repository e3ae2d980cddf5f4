package runc_test

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/runc"
)

// waitNoLoops waits until no loop device backs a disk of b's containers.
func waitNoLoops(t *testing.T, b *runc.Backend) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "the loop devices to be released", func() (bool, string) {
		l := b.LoopDevices()
		return len(l) == 0, "still attached: " + strings.Join(mapValues(l), ", ")
	})
}

func mapValues(m map[string]string) []string {
	var vs []string
	for k, v := range m {
		vs = append(vs, k+" -> "+v)
	}
	return vs
}

func TestDiskQuotaEnforced(t *testing.T) {
	b := newBackend(t)
	c := create(t, b, container.Spec{Handle: "quota", DiskMB: 10})
	if n := len(b.LoopDevices()); n != 1 {
		t.Errorf("loop devices after Create = %d, want 1", n)
	}
	if status, out := run(t, c, "dd if=/dev/zero of=/tmp/big bs=1M count=20"); status == 0 {
		t.Errorf("writing 20 MB into a 10 MB container succeeded: %s", out)
	}
	if status, out := run(t, c, "rm /tmp/big; dd if=/dev/zero of=/home/vcap/ok bs=1M count=5 && sync"); status != 0 {
		t.Errorf("writing 5 MB into a 10 MB container: %d %s", status, out)
	}
	m, err := c.Metrics(t.Context())
	if err != nil || m.DiskBytes < 5<<20 || m.DiskBytes > 6<<20 || m.DiskLimit != 10<<20 {
		t.Errorf("Metrics = %+v, %v; want 5-6 MiB used of 10 MiB", m, err)
	}
	if err := b.Destroy(t.Context(), "quota"); err != nil {
		t.Fatal(err)
	}
	waitNoLoops(t, b)
}

// tarOfSize is a tar of one file of n bytes (random-ish, not sparse).
func tarOfSize(t *testing.T, name string, n int) []byte {
	t.Helper()
	var bb bytes.Buffer
	tw := tar.NewWriter(&bb)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(n), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("droplet!"), n/8)
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return bb.Bytes()
}

// The streamed tar and its extraction are not both counted (garden-linux
// counted both and crashed containers with droplets over half their disk).
func TestStreamInCountsOnce(t *testing.T) {
	b := newBackend(t)
	c := create(t, b, container.Spec{Handle: "droplet", DiskMB: 10})
	if err := c.StreamIn(t.Context(), "/home/vcap", bytes.NewReader(tarOfSize(t, "droplet.bin", 8<<20))); err != nil {
		t.Fatalf("StreamIn of 8 MB into a 10 MB container: %v", err)
	}
	if status, out := run(t, c, "wc -c < /home/vcap/droplet.bin"); status != 0 || strings.TrimSpace(out) != "8388608" {
		t.Errorf("after StreamIn: %d %q", status, out)
	}
	if info, err := c.Info(t.Context()); err != nil || info.State != "active" {
		t.Errorf("after StreamIn: %+v, %v", info, err)
	}
	if m, err := c.Metrics(t.Context()); err != nil || m.DiskBytes < 8<<20 || m.DiskBytes > 9<<20 {
		t.Errorf("DiskBytes = %d, %v; want 8-9 MiB", m.DiskBytes, err)
	}
	if err := c.StreamIn(t.Context(), "/home/vcap/more", bytes.NewReader(tarOfSize(t, "more.bin", 4<<20))); err == nil {
		t.Error("StreamIn of 4 MB more into the 10 MB container succeeded")
	}
}

// A create the previous backend did not finish (no meta.json) is removed
// on recovery, its loop device included; finished containers keep theirs.
func TestRecoveryReleasesLoopDevices(t *testing.T) {
	cfg := testConfig(t)
	b1, err := runc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	create(t, b1, container.Spec{Handle: "kept", DiskMB: 8})
	partial := create(t, b1, container.Spec{Handle: "partial", DiskMB: 8})
	if n := len(b1.LoopDevices()); n != 2 {
		t.Fatalf("loop devices = %d, want 2", n)
	}
	b1.Close()
	bundle := filepath.Join(cfg.StateDir, "containers", partial.(*runc.Container).ID())
	if err := os.Remove(filepath.Join(bundle, "meta.json")); err != nil {
		t.Fatal(err)
	}
	b2, err := runc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { destroyAll(t, b2) })
	if loops := b2.LoopDevices(); len(loops) != 1 {
		t.Errorf("after recovery: %v, want only kept's", loops)
	}
	if _, err := os.Stat(bundle); !os.IsNotExist(err) {
		t.Errorf("the unfinished bundle is still there: %v", err)
	}
	if _, err := os.Stat("/var/run/netns/diego-" + partial.(*runc.Container).ID()); !os.IsNotExist(err) {
		t.Errorf("the unfinished container's netns is still there: %v", err)
	}
	kept, err := b2.Lookup(t.Context(), "kept")
	if err != nil {
		t.Fatal(err)
	}
	if status, out := run(t, kept, "dd if=/dev/zero of=/tmp/f bs=1M count=4"); status != 0 {
		t.Errorf("writing in the recovered container: %s", out)
	}
	if err := b2.Destroy(t.Context(), "kept"); err != nil {
		t.Fatal(err)
	}
	waitNoLoops(t, b2)
}

// Concurrent creates each get a loop device of their own.
func TestDiskConcurrentCreates(t *testing.T) {
	b := newBackend(t)
	const n = 6
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := b.Create(t.Context(), container.Spec{Handle: "disk-" + strconv.Itoa(i), RootFS: "preloaded:cflinuxfs4", DiskMB: 4})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if loops := b.LoopDevices(); len(loops) != n {
		t.Errorf("loop devices = %v, want %d", loops, n)
	}
	destroyAll(t, b)
	waitNoLoops(t, b)
}
