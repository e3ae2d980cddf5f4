package runc_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/runc"
)

var outsideN atomic.Uint32

// outside is a network namespace standing for the world outside the cell:
// a veth pair to the host, routed, with servers the containers try to reach.
type outside struct {
	ns   string
	addr string // the outside end's address
}

// newOutside makes an outside netns on its own /30 of 10.252.0.0/16.
func newOutside(t *testing.T) outside {
	t.Helper()
	n := outsideN.Add(1)
	pid := os.Getpid()
	o := outside{ns: fmt.Sprintf("dgtest-out-%d-%d", pid, n)}
	hv, cv := fmt.Sprintf("dgto%05d%02dh", pid%100000, n%100), fmt.Sprintf("dgto%05d%02dc", pid%100000, n%100)
	third, fourth := n%256, (pid%64)*4
	hostAddr := fmt.Sprintf("10.252.%d.%d", third, fourth+1)
	o.addr = fmt.Sprintf("10.252.%d.%d", third, fourth+2)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	ip("netns", "add", o.ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", o.ns).Run() })
	ip("link", "add", hv, "type", "veth", "peer", "name", cv, "netns", o.ns)
	ip("addr", "add", hostAddr+"/30", "dev", hv)
	ip("link", "set", hv, "up")
	ip("-n", o.ns, "addr", "add", o.addr+"/30", "dev", cv)
	ip("-n", o.ns, "link", "set", cv, "up")
	ip("-n", o.ns, "link", "set", "lo", "up")
	ip("-n", o.ns, "route", "add", "default", "via", hostAddr)
	return o
}

// in runs f on a thread in the outside netns (sockets made there stay
// there); the thread is discarded afterwards.
func (o outside) in(t *testing.T, f func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		fd, err := syscall.Open("/var/run/netns/"+o.ns, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer syscall.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- f()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// serveTCP answers "hello PORT" on every connection to the outside's port.
func (o outside) serveTCP(t *testing.T, port int) {
	var l net.Listener
	o.in(t, func() (err error) {
		l, err = net.Listen("tcp", fmt.Sprintf("%s:%d", o.addr, port))
		return err
	})
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello %d\n", port)
			c.Close()
		}
	}()
}

// serveUDP answers every datagram on the outside's port with a TFTP error
// "not found" (busybox's tftp is the containers' UDP client: it sends a
// read request and exits on the answer) and returns the datagrams.
func (o outside) serveUDP(t *testing.T, port int) <-chan string {
	var pc net.PacketConn
	o.in(t, func() (err error) {
		pc, err = net.ListenPacket("udp", fmt.Sprintf("%s:%d", o.addr, port))
		return err
	})
	t.Cleanup(func() { pc.Close() })
	got := make(chan string, 16)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte("\x00\x05\x00\x01not found\x00"), from)
			got <- string(buf[:n])
		}
	}()
	return got
}

// dial connects from c to the outside's port: its status and output.
func dial(t *testing.T, c container.Container, addr string, port int) (int, string) {
	t.Helper()
	return run(t, c, fmt.Sprintf("nc -w 5 %s %d </dev/null", addr, port))
}

func TestEgressRules(t *testing.T) {
	o := newOutside(t)
	o.serveTCP(t, 8080)
	o.serveTCP(t, 8081)
	b := newBackend(t)
	rule := func(r container.EgressRule) container.Container {
		return create(t, b, container.Spec{Handle: fmt.Sprintf("egress-%d", len(mustList(t, b))), EgressRules: []container.EgressRule{r}})
	}
	none := create(t, b, container.Spec{Handle: "no-rules"})
	if status, out := dial(t, none, o.addr, 8080); status == 0 || strings.Contains(out, "hello") {
		t.Errorf("no rules: the connection went out: %d %q", status, out)
	}
	tcp8080 := rule(container.EgressRule{Protocol: "tcp", Destinations: []string{o.addr}, Ports: []uint32{8080}, ICMPType: -1, ICMPCode: -1, Log: true})
	if status, out := dial(t, tcp8080, o.addr, 8080); status != 0 || out != "hello 8080\n" {
		t.Errorf("tcp rule for 8080: %d %q", status, out)
	}
	if status, out := dial(t, tcp8080, o.addr, 8081); status == 0 || strings.Contains(out, "hello") {
		t.Errorf("tcp rule for 8080 let 8081 out: %d %q", status, out)
	}
	if rules := iptablesS(t, "nsenter", "--net=/var/run/netns/diego-"+tcp8080.(*runc.Container).ID(), "iptables", "-S", "OUTPUT"); !strings.Contains(rules, "--dports 8080 -m conntrack --ctstate NEW -j LOG") {
		t.Errorf("the logged rule has no LOG rule:\n%s", rules)
	}
	other := rule(container.EgressRule{Protocol: "tcp", Destinations: []string{o.addr + "/32"}, PortRange: &[2]uint32{8081, 8090}})
	if status, out := dial(t, other, o.addr, 8080); status == 0 || strings.Contains(out, "hello") {
		t.Errorf("tcp rule for 8081-8090 let 8080 out: %d %q", status, out)
	}
	if status, out := dial(t, other, o.addr, 8081); status != 0 || out != "hello 8081\n" {
		t.Errorf("tcp rule for 8081-8090: %d %q", status, out)
	}
	all := rule(container.EgressRule{Protocol: "all", Destinations: []string{ipRangeAround(o.addr)}})
	if status, out := dial(t, all, o.addr, 8080); status != 0 || out != "hello 8080\n" {
		t.Errorf("all rule for a range: %d %q", status, out)
	}
	ping := fmt.Sprintf("ping -c 1 -W 5 %s", o.addr)
	// Denied echo requests are rejected with an error ping ignores: it
	// waits out -W, so the denied case waits 1 s, the allowed one up to 5.
	if status, out := run(t, none, "ping -c 1 -W 1 "+o.addr); status == 0 {
		t.Errorf("no rules: ping went out: %s", out)
	}
	icmp := rule(container.EgressRule{Protocol: "icmp", Destinations: []string{"10.252.0.0/16"}, ICMPType: -1, ICMPCode: -1})
	if status, out := run(t, icmp, ping); status != 0 {
		t.Errorf("icmp rule: ping failed: %s", out)
	}
	if status, out := dial(t, icmp, o.addr, 8080); status == 0 {
		t.Errorf("icmp rule let tcp out: %q", out)
	}
	got := o.serveUDP(t, 5300)
	udp := rule(container.EgressRule{Protocol: "udp", Destinations: []string{o.addr}, Ports: []uint32{5300}})
	tftpRoundTrip(t, udp, got, o.addr, 5300)

	// The host has one shared rule set for the containers' network.
	cidr := b.Config().NetworkCIDR
	if n := strings.Count(iptablesS(t, "iptables", "-t", "nat", "-S", "POSTROUTING"), "-s "+cidr+" ! -d "+cidr); n != 1 {
		t.Errorf("%d MASQUERADE rules for %s, want 1", n, cidr)
	}
	if err := b.RemoveHostNAT(t.Context()); err != nil {
		t.Fatal(err)
	}
	if rules := iptablesS(t, "iptables", "-S"); strings.Contains(rules, cidr) {
		t.Errorf("RemoveHostNAT left rules for %s:\n%s", cidr, rules)
	}
}

func iptablesS(t *testing.T, cmd ...string) string {
	t.Helper()
	out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v: %s", cmd, err, out)
	}
	return string(out)
}

// tftpRoundTrip asks for a file over TFTP from c to addr:port and checks
// that the request arrived and the answer came back.
func tftpRoundTrip(t *testing.T, c container.Container, got <-chan string, addr string, port int) {
	t.Helper()
	if _, out := run(t, c, fmt.Sprintf("tftp -g -r wanted %s %d", addr, port)); !strings.Contains(out, "not found") {
		t.Errorf("udp to %s:%d: no answer: %q", addr, port, out)
	}
	select {
	case d := <-got:
		if !strings.Contains(d, "wanted") {
			t.Errorf("udp to %s:%d: the outside got %q", addr, port, d)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("udp to %s:%d: nothing arrived within 10s", addr, port)
	}
}

// ipRangeAround is "a.b.c.(d-1)-a.b.c.(d+1)" for a.b.c.d.
func ipRangeAround(addr string) string {
	ip := net.ParseIP(addr).To4()
	lo, hi := append(net.IP{}, ip...), append(net.IP{}, ip...)
	lo[3]--
	hi[3]++
	return lo.String() + "-" + hi.String()
}

func mustList(t *testing.T, b *runc.Backend) []container.Container {
	cs, err := b.Containers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// The configured DNS servers are the container's resolv.conf and their
// port 53 is open without a rule; /etc/hosts names the container.
func TestDNSAndHosts(t *testing.T) {
	o := newOutside(t)
	got := o.serveUDP(t, 53)
	b := newBackend(t, func(c *runc.Config) { c.DNSServers = []string{o.addr} })
	c := create(t, b, container.Spec{Handle: "named"})
	if status, out := run(t, c, "cat /etc/resolv.conf"); status != 0 || out != "nameserver "+o.addr+"\n" {
		t.Errorf("resolv.conf: %d %q", status, out)
	}
	info, _ := c.Info(t.Context())
	if status, out := run(t, c, "cat /etc/hosts; hostname"); status != 0 || !strings.Contains(out, info.ContainerIP+" named\n") {
		t.Errorf("hosts: %d %q", status, out)
	}
	tftpRoundTrip(t, c, got, o.addr, 53)
}

func TestEgressRuleErrors(t *testing.T) {
	b := newBackend(t)
	for _, r := range []container.EgressRule{
		{Protocol: "tcp", Destinations: []string{"not-an-ip"}},
		{Protocol: "sctp", Destinations: []string{"10.0.0.1"}},
		{Protocol: "tcp", Destinations: []string{"10.0.0.9-10.0.0.1"}},
		{Protocol: "udp", Destinations: []string{"10.0.0.1"}, PortRange: &[2]uint32{90, 80}},
	} {
		_, err := b.Create(t.Context(), container.Spec{Handle: "bad", RootFS: "preloaded:cflinuxfs4", EgressRules: []container.EgressRule{r}})
		if err == nil || !strings.Contains(err.Error(), "egress rule 0") {
			t.Errorf("%+v: Create = %v, want an egress rule error", r, err)
		}
	}
	if _, err := os.Stat("/var/run/netns/diego-" + runc.ContainerID(b, "bad")); !os.IsNotExist(err) {
		t.Errorf("a failed create left its netns: %v", err)
	}
}
