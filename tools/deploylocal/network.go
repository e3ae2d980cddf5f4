package deploylocal

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setupBridge creates the host bridge with the gateway address.
func setupBridge(bridge, gateway string) error {
	if _, err := net.InterfaceByName(bridge); err != nil {
		if err := run("ip", "link", "add", bridge, "type", "bridge"); err != nil {
			return err
		}
	}
	if err := run("ip", "addr", "replace", gateway+"/24", "dev", bridge); err != nil {
		return err
	}
	return run("ip", "link", "set", bridge, "up")
}

// setupInstanceNet creates the instance's network namespace, a veth pair
// with the instance's end inside holding its address, loopback up, and
// /etc/netns/<ns>/hosts (bind-mounted on /etc/hosts by `ip netns exec`).
func setupInstanceNet(inst *Instance, bridge, gateway string, hosts []byte) error {
	teardownInstanceNet(inst)
	steps := [][]string{
		{"ip", "netns", "add", inst.Netns},
		{"ip", "link", "add", inst.Veth, "type", "veth", "peer", "name", inst.Veth + "c"},
		{"ip", "link", "set", inst.Veth + "c", "netns", inst.Netns},
		{"ip", "link", "set", inst.Veth, "master", bridge},
		{"ip", "link", "set", inst.Veth, "up"},
		{"ip", "-n", inst.Netns, "link", "set", "lo", "up"},
		{"ip", "-n", inst.Netns, "link", "set", inst.Veth + "c", "name", "eth0"},
		{"ip", "-n", inst.Netns, "addr", "add", inst.IP + "/24", "dev", "eth0"},
		{"ip", "-n", inst.Netns, "link", "set", "eth0", "up"},
		{"ip", "-n", inst.Netns, "route", "add", "default", "via", gateway},
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			return err
		}
	}
	dir := filepath.Join("/etc/netns", inst.Netns)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "hosts"), hosts, 0o644)
}

func teardownInstanceNet(inst *Instance) {
	exec.Command("ip", "link", "del", inst.Veth).Run()
	exec.Command("ip", "netns", "del", inst.Netns).Run()
	os.RemoveAll(filepath.Join("/etc/netns", inst.Netns))
}

// forwarder is a TCP forwarder (the instances reach a service of the host
// that listens on loopback only, e.g. PostgreSQL on 127.0.0.1:5432).
type forwarder struct {
	ln   net.Listener
	wg   sync.WaitGroup
	to   string
	done chan struct{}
}

func startForwarder(from, to string) (*forwarder, error) {
	ln, err := net.Listen("tcp", from)
	if err != nil {
		return nil, fmt.Errorf("forwarder %s -> %s: %w", from, to, err)
	}
	f := &forwarder{ln: ln, to: to, done: make(chan struct{})}
	go f.serve()
	return f, nil
}

func (f *forwarder) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", f.to)
			if err != nil {
				return
			}
			defer u.Close()
			go func() { io.Copy(u, c); u.(*net.TCPConn).CloseWrite() }()
			io.Copy(c, u)
		}()
	}
}

func (f *forwarder) Close() {
	if f != nil {
		f.ln.Close()
	}
}
