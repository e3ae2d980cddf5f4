package runc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// netnsDir is where "ip netns" keeps named network namespaces.
const netnsDir = "/var/run/netns"

// netConfig is a container's network: a named netns and a veth pair on a /30.
type netConfig struct {
	Netns       string `json:"netns"`        // name under /var/run/netns
	HostVeth    string `json:"host_veth"`    // host end of the veth pair
	HostAddr    string `json:"host_addr"`    // .1 of the /30, on the host end
	ContainerIP string `json:"container_ip"` // .2 of the /30, in the netns
}

// netNames are the netns and host veth names of container id.
func netNames(id string) netConfig {
	return netConfig{Netns: "diego-" + id, HostVeth: "dg" + id[:min(10, len(id))] + "h"}
}

func (n netConfig) nsPath() string { return netnsDir + "/" + n.Netns }

// subnetFor returns the host and container addresses of the i-th /30 of cidr.
func subnetFor(cidr netip.Prefix, i int) (host, ctr netip.Addr, ok bool) {
	n := 1 << (30 - cidr.Bits())
	if i < 0 || i >= n {
		return host, ctr, false
	}
	b := cidr.Masked().Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(i) * 4
	mk := func(x uint32) netip.Addr {
		return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
	}
	return mk(v + 1), mk(v + 2), true
}

// hostAddrsInUse lists the IPv4 addresses configured on the host, so a /30
// another backend (or anything else) uses is skipped.
func hostAddrsInUse() map[netip.Addr]bool {
	used := map[netip.Addr]bool{}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(ipn.IP.To4()); ok {
				used[ip] = true
			}
		}
	}
	return used
}

// ip runs the iproute2 ip command.
func (b *Backend) ip(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, b.cfg.IPPath, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setupNetwork creates the netns and the veth pair, addresses both ends and
// brings up lo. On failure whatever was made is removed.
func (b *Backend) setupNetwork(ctx context.Context, n netConfig) (err error) {
	defer func() {
		if err != nil {
			b.teardownNetwork(context.WithoutCancel(ctx), n)
		}
	}()
	ctrVeth := n.HostVeth[:len(n.HostVeth)-1] + "c"
	host := [][]string{
		{"netns", "add", n.Netns},
		{"link", "add", n.HostVeth, "type", "veth", "peer", "name", ctrVeth, "netns", n.Netns},
		{"addr", "add", n.HostAddr + "/30", "dev", n.HostVeth},
		{"link", "set", n.HostVeth, "up"},
	}
	inside := [][]string{
		{"link", "set", ctrVeth, "name", "eth0"},
		{"addr", "add", n.ContainerIP + "/30", "dev", "eth0"},
		{"link", "set", "eth0", "up"},
		{"link", "set", "lo", "up"},
		{"route", "add", "default", "via", n.HostAddr},
	}
	if err := b.ipBatch(ctx, nil, host); err != nil {
		return err
	}
	return b.ipBatch(ctx, []string{"-n", n.Netns}, inside)
}

// ipBatch runs commands through one "ip -batch -", stopping at the first
// that fails.
func (b *Backend) ipBatch(ctx context.Context, opts []string, cmds [][]string) error {
	var batch strings.Builder
	for _, c := range cmds {
		batch.WriteString(strings.Join(c, " ") + "\n")
	}
	cmd := exec.CommandContext(ctx, b.cfg.IPPath, append(opts, "-batch", "-")...)
	cmd.Stdin = strings.NewReader(batch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("setting up the network (ip %s -batch): %w: %s", strings.Join(opts, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// teardownNetwork deletes the netns (which deletes the veth pair); errors
// for things already gone are ignored.
func (b *Backend) teardownNetwork(ctx context.Context, n netConfig) error {
	var errs []error
	if _, err := os.Stat(n.nsPath()); err == nil {
		if err := b.ip(ctx, "netns", "delete", n.Netns); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := net.InterfaceByName(n.HostVeth); err == nil {
		// The veth goes with the netns, asynchronously: gone is fine.
		if err := b.ip(ctx, "link", "delete", n.HostVeth); err != nil && !vethGone(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// vethGone reports an ip error saying the device is gone ("Cannot find
// device", or "No such device" when it went between the check and the call).
func vethGone(err error) bool {
	return strings.Contains(err.Error(), "Cannot find device") || strings.Contains(err.Error(), "No such device")
}

// proxy forwards connections on a host port to ContainerIP:port.
type proxy struct {
	l      net.Listener
	target string

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	done   chan struct{}
}

// dialTimeout bounds the proxy's connection to the container.
const dialTimeout = 5 * time.Second

func startProxy(listenIP string, hostPort uint32, target string) (*proxy, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(listenIP, strconv.Itoa(int(hostPort))))
	if err != nil {
		return nil, err
	}
	p := &proxy{l: l, target: target, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	go p.serve()
	return p, nil
}

func (p *proxy) serve() {
	defer close(p.done)
	for {
		c, err := p.l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like
			continue
		}
		go p.forward(c)
	}
}

// track registers c; it returns false once the proxy is closed.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *proxy) forward(in net.Conn) {
	if !p.track(in) {
		in.Close()
		return
	}
	defer p.untrack(in)
	out, err := net.DialTimeout("tcp", p.target, dialTimeout)
	if err != nil {
		return // nothing listens in the container: the client sees a close
	}
	if !p.track(out) {
		out.Close()
		return
	}
	defer p.untrack(out)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-done
	<-done
}

// close stops listening and closes every forwarded connection.
func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.l.Close()
	<-p.done
}
