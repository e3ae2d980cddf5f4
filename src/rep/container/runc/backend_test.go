package runc_test

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/containertest"
	"github.com/diego-go/diego/src/rep/container/runc"
)

func TestNamespaces(t *testing.T) {
	b := newBackend(t)
	c := create(t, b, container.Spec{Handle: "ns-test"})
	host, _ := os.Hostname()
	status, out := run(t, c, `hostname; cat /proc/1/cmdline | tr '\0' ' '; echo; ls /proc | grep -c '^[0-9]'; cat /proc/*/comm | sort -u | tr '\n' ' '; echo; readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; ip -o -4 addr show eth0`)
	if status != 0 {
		t.Fatalf("status %d: %s", status, out)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 7 {
		t.Fatalf("output %q", out)
	}
	if lines[0] != "ns-test" || lines[0] == host {
		t.Errorf("hostname %q, want the handle (host is %q)", lines[0], host)
	}
	if !strings.HasPrefix(lines[1], "/bin/sh -c trap") {
		t.Errorf("PID 1 is %q, want the container's init", lines[1])
	}
	if n, _ := strconv.Atoi(lines[2]); n == 0 || n > 8 {
		t.Errorf("%d processes visible in the container, want only its own few", n)
	}
	if strings.Contains(lines[3], "runc.test") || strings.Contains(lines[3], "go") {
		t.Errorf("container sees host processes: %q", lines[3])
	}
	for i, ns := range []string{"net", "ipc"} {
		hostNS, _ := os.Readlink("/proc/self/ns/" + ns)
		if lines[4+i] == hostNS || !strings.HasPrefix(lines[4+i], ns+":") {
			t.Errorf("%s namespace %q, host's %q: want its own", ns, lines[4+i], hostNS)
		}
	}
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lines[6], " "+info.ContainerIP+"/30") {
		t.Errorf("eth0 %q, want ContainerIP %s", lines[6], info.ContainerIP)
	}
}

func TestOOMKilled(t *testing.T) {
	b := newBackend(t)
	c := create(t, b, container.Spec{Handle: "oom", MemoryMB: 32})
	if err := c.StreamIn(t.Context(), "/opt", bytes.NewReader(containertest.HelperTar(t))); err != nil {
		t.Fatal(err)
	}
	if info, _ := c.Info(t.Context()); info.OOMKilled {
		t.Fatal("OOMKilled before anything ran")
	}
	p, err := c.Run(t.Context(), container.ProcessSpec{Path: "/opt/helper", Args: []string{"mem", "64"}}, container.ProcessIO{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() { s, _ := p.Wait(); done <- s }()
	select {
	case s := <-done:
		if s != 137 {
			t.Errorf("allocating 64 MiB under a 32 MiB limit exited %d, want 137 (SIGKILL by the OOM killer)", s)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the 64 MiB process was not killed under a 32 MiB limit")
	}
	info, err := c.Info(t.Context())
	if err != nil || !info.OOMKilled {
		t.Errorf("Info after the OOM kill: OOMKilled %v, %v; want true", info.OOMKilled, err)
	}
	if m, _ := c.Metrics(t.Context()); m.MemoryLimit != 32<<20 {
		t.Errorf("MemoryLimit %d", m.MemoryLimit)
	}
}

// cgroupDir is the host dir of controller's cgroup of the container, from
// /proc/self/cgroup inside it (no cgroup namespace).
func cgroupDir(t *testing.T, c container.Container, controller string) string {
	t.Helper()
	_, out := run(t, c, "cat /proc/self/cgroup")
	for _, line := range strings.Split(out, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && parts[1] == controller {
			return filepath.Join("/sys/fs/cgroup", controller, parts[2])
		}
	}
	t.Fatalf("no %s cgroup in %q", controller, out)
	return ""
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(raw))
}

func TestLimitsWritten(t *testing.T) {
	b := newBackend(t)
	c := create(t, b, container.Spec{Handle: "limits", MemoryMB: 64, MaxPids: 10, CPUWeight: 50})
	if got := readFile(t, filepath.Join(cgroupDir(t, c, "cpu"), "cpu.shares")); got != "512" {
		t.Errorf("cpu.shares = %s, want 512 for weight 50", got)
	}
	if got := readFile(t, filepath.Join(cgroupDir(t, c, "memory"), "memory.limit_in_bytes")); got != strconv.Itoa(64<<20) {
		t.Errorf("memory.limit_in_bytes = %s", got)
	}
	if got := readFile(t, filepath.Join(cgroupDir(t, c, "pids"), "pids.max")); got != "12" {
		t.Errorf("pids.max = %s, want 12 (10 + init's 2)", got)
	}
}

func TestPidsLimitEnforced(t *testing.T) {
	b := newBackend(t)
	c := create(t, b, container.Spec{Handle: "pids", MaxPids: 10})
	// The shell gives up at the first failed fork; its sleeps get killed.
	_, out := run(t, c, `i=0; while [ $i -lt 20 ]; do sleep 30 & i=$((i+1)); done; echo all started`)
	if strings.Contains(out, "all started") || !strings.Contains(out, "fork") {
		t.Errorf("20 background processes under MaxPids 10 all started: %q", out)
	}
	m, err := c.Metrics(t.Context())
	if err != nil || m.ProcessCount > 10 {
		t.Errorf("ProcessCount %d, %v: want at most 10", m.ProcessCount, err)
	}
	if err := c.Stop(t.Context(), true); err != nil {
		t.Fatal(err)
	}
}

// listen starts the helper listening on PORT=port in c.
func listen(t *testing.T, c container.Container, port uint32) {
	t.Helper()
	if err := c.StreamIn(t.Context(), "/opt", bytes.NewReader(containertest.HelperTar(t))); err != nil {
		t.Fatal(err)
	}
	_, err := c.Run(t.Context(), container.ProcessSpec{Path: "/opt/helper", Args: []string{"listen"}, Env: []string{"PORT=" + strconv.Itoa(int(port))}}, container.ProcessIO{})
	if err != nil {
		t.Fatal(err)
	}
}

func waitLine(t *testing.T, addr string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		line, err := containertest.ReadLine(addr)
		if err == nil {
			return line
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing answers on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPortOnHostAddress(t *testing.T) {
	b := newBackend(t, func(c *runc.Config) { c.HostIP = "" }) // detected
	c := create(t, b, container.Spec{Handle: "hostaddr", Ports: []uint32{8080}})
	listen(t, c, 8080)
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("host %s container %s ports %v", info.HostIP, info.ContainerIP, info.Ports)
	if info.HostIP != b.Config().HostIP || info.ContainerIP == info.HostIP {
		t.Errorf("HostIP %s ContainerIP %s", info.HostIP, info.ContainerIP)
	}
	hostAddr := net.JoinHostPort(info.HostIP, strconv.Itoa(int(info.Ports[0].HostPort)))
	if line := waitLine(t, hostAddr); line != "hello 8080\n" {
		t.Errorf("through %s: %q", hostAddr, line)
	}
	if line := waitLine(t, net.JoinHostPort(info.ContainerIP, "8080")); line != "hello 8080\n" {
		t.Errorf("on the container IP: %q", line)
	}
	// The app sees Diego's networking variables.
	_, out := run(t, c, `echo "$PORT $CF_INSTANCE_INTERNAL_IP $CF_INSTANCE_PORTS"`)
	want := "8080 " + info.ContainerIP + ` [{"external":` + strconv.Itoa(int(info.Ports[0].HostPort)) + `,"internal":8080}]`
	if strings.TrimSpace(out) != want {
		t.Errorf("env %q, want %q", out, want)
	}
}

func TestRecoveryAfterRestart(t *testing.T) {
	cfg := testConfig(t)
	b1, err := runc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c1 := create(t, b1, container.Spec{Handle: "survivor", Ports: []uint32{8080}, Properties: map[string]string{"k": "v"}, MemoryMB: 64})
	create(t, b1, container.Spec{Handle: "other"})
	listen(t, c1, 8080)
	info1, _ := c1.Info(t.Context())
	addr := net.JoinHostPort(info1.HostIP, strconv.Itoa(int(info1.Ports[0].HostPort)))
	waitLine(t, addr)
	if err := b1.Close(); err != nil { // the rep goes away; the containers stay
		t.Fatal(err)
	}
	if _, err := containertest.ReadLine(addr); err == nil {
		t.Fatal("the port still answers after Close")
	}

	b2, err := runc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { destroyAll(t, b2) })
	cs, err := b2.Containers(t.Context())
	if err != nil || len(cs) != 2 {
		t.Fatalf("after restart: Containers = %v, %v", cs, err)
	}
	c2, err := b2.Lookup(t.Context(), "survivor")
	if err != nil {
		t.Fatal(err)
	}
	info2, err := c2.Info(t.Context())
	if err != nil || info2.State != "active" || info2.Properties["k"] != "v" || info2.ContainerIP != info1.ContainerIP || info2.Ports[0] != info1.Ports[0] {
		t.Errorf("after restart: %+v, %v; before %+v", info2, err, info1)
	}
	if line := waitLine(t, addr); line != "hello 8080\n" {
		t.Errorf("after restart, the mapped port says %q", line)
	}
	if status, out := run(t, c2, "echo still here"); status != 0 || out != "still here\n" {
		t.Errorf("Run after restart: %d %q", status, out)
	}
	// New containers do not collide with the recovered ones.
	c3 := create(t, b2, container.Spec{Handle: "new", Ports: []uint32{8080}})
	info3, _ := c3.Info(t.Context())
	if info3.ContainerIP == info1.ContainerIP || info3.Ports[0].HostPort == info1.Ports[0].HostPort {
		t.Errorf("new container reuses %s / %d", info3.ContainerIP, info3.Ports[0].HostPort)
	}
	if err := b2.Destroy(t.Context(), "survivor"); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("runc", "--root", filepath.Join(cfg.StateDir, "runc"), "list", "-q").CombinedOutput(); strings.Contains(string(out), c2.(*runc.Container).ID()) {
		t.Errorf("runc still lists the destroyed container: %s", out)
	}
}

func TestCopyRootFS(t *testing.T) {
	b := newBackend(t, func(c *runc.Config) { c.RootFSMode = runc.RootFSCopy })
	c := create(t, b, container.Spec{Handle: "copy"})
	if status, out := run(t, c, "echo hi > /tmp/x && cat /tmp/x"); status != 0 || out != "hi\n" {
		t.Errorf("%d %q", status, out)
	}
	if _, err := os.Stat(filepath.Join(busyboxRootFS(t), "tmp", "x")); err == nil {
		t.Error("a container wrote into the shared rootfs")
	}
}

func TestStreamInStaysInside(t *testing.T) {
	b := newBackend(t)
	c := create(t, b, container.Spec{Handle: "escape"})
	// /suite/out -> / (absolute) and ../../.. must all land inside.
	if status, out := run(t, c, "mkdir -p /suite && ln -s / /suite/out && ln -s ../../../../.. /suite/up"); status != 0 {
		t.Fatal(out)
	}
	outside := t.TempDir()
	for _, dir := range []string{"/suite/out" + outside, "/suite/up" + outside, "/../../.." + outside} {
		if err := c.StreamIn(t.Context(), dir, bytes.NewReader(tarOneFile(t, "pwned", "x"))); err != nil {
			t.Fatalf("StreamIn(%s): %v", dir, err)
		}
		if _, err := os.Stat(filepath.Join(outside, "pwned")); err == nil {
			t.Fatalf("StreamIn(%s) wrote outside the container", dir)
		}
		if status, out := run(t, c, "cat "+outside+"/pwned"); status != 0 || out != "x" {
			t.Errorf("StreamIn(%s): not inside the container: %d %q", dir, status, out)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	ok := testConfig(t)
	for name, mutate := range map[string]func(*runc.Config){
		"relative state dir": func(c *runc.Config) { c.StateDir = "state" },
		"rootfs mode":        func(c *runc.Config) { c.RootFSMode = "zfs" },
		"cidr":               func(c *runc.Config) { c.NetworkCIDR = "10.0.0.0/31" },
		"port range":         func(c *runc.Config) { c.PortRangeStart, c.PortRangeEnd = 5000, 4000 },
		"host ip":            func(c *runc.Config) { c.HostIP = "host" },
		"relative rootfs":    func(c *runc.Config) { c.RootFSes = map[string]string{"x": "rel"} },
		"no runc":            func(c *runc.Config) { c.RuncPath = "/nonexistent/runc" },
		"dns server":         func(c *runc.Config) { c.DNSServers = []string{"dns.example"} },
	} {
		cfg := ok
		mutate(&cfg)
		if _, err := runc.New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	b := newBackend(t, func(c *runc.Config) { c.RootFSes["empty"] = t.TempDir() })
	for _, rootfs := range []string{"preloaded:unknown", "preloaded:empty"} {
		if _, err := b.Create(t.Context(), container.Spec{Handle: "x", RootFS: rootfs}); !errors.Is(err, container.ErrRootFSMissing) {
			t.Errorf("Create(%s): %v, want ErrRootFSMissing", rootfs, err)
		}
	}
	if _, err := b.Lookup(t.Context(), "x"); !errors.Is(err, container.ErrNotFound) {
		t.Errorf("a failed Create left the container: %v", err)
	}
}

// A process's Wait returns when it exits, not when a background child
// holding its output does (the output FIFOs are closed ioWaitDelay later).
func TestWaitDoesNotWaitForBackgroundChildren(t *testing.T) {
	b := newBackend(t)
	c := create(t, b, container.Spec{Handle: "bg"})
	begin := time.Now()
	status, out := run(t, c, "sleep 20 & echo hi; exit 4")
	if d := time.Since(begin); d > 5*time.Second || status != 4 || out != "hi\n" {
		t.Errorf("status %d output %q after %v: want 4, hi, well before the background sleep ends", status, out, d)
	}
	// A vcap process runs as vcap in its home, and a missing command is 127.
	vout := &buf{}
	p, err := c.Run(t.Context(), container.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "id -u; pwd"}, User: "vcap"}, container.ProcessIO{Stdout: vout, Stderr: vout})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := p.Wait(); s != 0 || vout.String() != "2000\n/home/vcap\n" {
		t.Errorf("vcap process: %d %q, want uid 2000 in /home/vcap", s, vout.String())
	}
	if status, out := run(t, c, "exec no-such-command"); status != 127 {
		t.Errorf("missing command: %d %q", status, out)
	}
}

// TestStreamInAsUser: what is streamed in as vcap, and the directories
// created for it, belong to vcap, so a process running as vcap can write
// there (Diego's download action then run action as vcap).
func TestStreamInAsUser(t *testing.T) {
	b := newBackend(t)
	c := create(t, b, container.Spec{Handle: "as-user"})
	if err := container.StreamInAs(t.Context(), c, "vcap", "/home/vcap/app/bin", bytes.NewReader(tarOneFile(t, "app", "x"))); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/home/vcap/app", "/home/vcap/app/bin", "/home/vcap/app/bin/app"} {
		fi, err := os.Lstat(filepath.Join(c.(*runc.Container).RootFSPath(), p))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 2000 || st.Gid != 2000 {
			t.Errorf("%s owned by %d:%d, want vcap (2000:2000)", p, st.Uid, st.Gid)
		}
	}
	p, err := c.Run(t.Context(), container.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "echo 42 > /home/vcap/app/result"}, User: "vcap"}, container.ProcessIO{})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := p.Wait(); err != nil || status != 0 {
		t.Fatalf("vcap writing next to the streamed-in files: status %d, %v", status, err)
	}
	if err := container.StreamInAs(t.Context(), c, "nobody-here", "/x", bytes.NewReader(tarOneFile(t, "a", "x"))); err == nil {
		t.Fatal("streaming in as an unknown user succeeded")
	}
}
