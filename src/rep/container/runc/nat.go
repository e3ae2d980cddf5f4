package runc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// natComment marks the host rules of the backend; they are one shared set
// per network_cidr (never per container), added by New when missing.
const natComment = "diego-runc"

// hostRules are the host's iptables rules for the containers of cidr:
// masquerade what leaves the containers' network and let it be forwarded
// (the netns's own rules decide what may leave).
func hostRules(cidr string) [][]string {
	c := []string{"-m", "comment", "--comment", natComment}
	return [][]string{
		append([]string{"-t", "nat", "POSTROUTING", "-s", cidr, "!", "-d", cidr}, append(c, "-j", "MASQUERADE")...),
		append([]string{"-t", "filter", "FORWARD", "-s", cidr}, append(c, "-j", "ACCEPT")...),
		append([]string{"-t", "filter", "FORWARD", "-d", cidr, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED"}, append(c, "-j", "ACCEPT")...),
	}
}

// iptables runs "iptables -w -t TABLE OP CHAIN RULE..." for a hostRules entry.
func (b *Backend) iptables(ctx context.Context, op string, rule []string) error {
	args := append([]string{"-w", rule[0], rule[1], op, rule[2]}, rule[3:]...)
	out, err := exec.CommandContext(ctx, b.tools.iptables, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// hostNATMu keeps the backends of one process from adding a rule twice
// (checked, then added).
var hostNATMu sync.Mutex

// setupHostNAT enables IPv4 forwarding and adds the host rules that are
// missing (FORWARD rules first in their chain, before a DROP policy's rules).
func (b *Backend) setupHostNAT(ctx context.Context) error {
	hostNATMu.Lock()
	defer hostNATMu.Unlock()
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("enabling IPv4 forwarding: %w", err)
	}
	for _, r := range hostRules(b.cidr.String()) {
		if b.iptables(ctx, "-C", r) == nil {
			continue
		}
		op := "-A"
		if r[2] == "FORWARD" {
			op = "-I"
		}
		if err := b.iptables(ctx, op, r); err != nil {
			return fmt.Errorf("adding the host NAT rules (is iptables installed?): %w", err)
		}
	}
	return nil
}

// RemoveHostNAT deletes the host rules of the backend's network_cidr (for
// a cell leaving service, and tests): containers lose their way out.
func (b *Backend) RemoveHostNAT(ctx context.Context) error {
	hostNATMu.Lock()
	defer hostNATMu.Unlock()
	var errs []error
	for _, r := range hostRules(b.cidr.String()) {
		for b.iptables(ctx, "-C", r) == nil {
			if err := b.iptables(ctx, "-D", r); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}
	return errors.Join(errs...)
}

// hostResolvers are the non-loopback nameservers of the host's
// /etc/resolv.conf, or of systemd-resolved's upstream list when the host
// resolves through a loopback stub (127.0.0.53); nil when there are none.
func hostResolvers() []string {
	for _, f := range []string{"/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"} {
		if ns := resolvConfServers(f); len(ns) > 0 {
			return ns
		}
	}
	return nil
}

// resolvConfServers reads the non-loopback IPv4 nameservers of a resolv.conf.
func resolvConfServers(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ns []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fs := strings.Fields(s.Text())
		if len(fs) < 2 || fs[0] != "nameserver" {
			continue
		}
		if a, err := netip.ParseAddr(fs[1]); err == nil && a.Is4() && !a.IsLoopback() {
			ns = append(ns, a.String())
		}
	}
	return ns
}

// writeNameFiles writes the container's /etc/resolv.conf (the configured
// DNS servers) and /etc/hosts (localhost and the container's hostname on
// its address) into its rootfs.
func (c *Container) writeNameFiles(hostname string) error {
	var resolv strings.Builder
	for _, ns := range c.b.cfg.DNSServers {
		resolv.WriteString("nameserver " + ns + "\n")
	}
	hosts := "127.0.0.1 localhost\n" + c.m.Net.ContainerIP + " " + hostname + "\n"
	for name, body := range map[string]string{"/etc/resolv.conf": resolv.String(), "/etc/hosts": hosts} {
		if err := os.MkdirAll(filepath.Join(c.RootFSPath(), "etc"), 0o755); err != nil {
			return err
		}
		dir, err := secureJoin(c.RootFSPath(), "/etc")
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.Base(name))
		_ = os.Remove(p) // a symlink or a file of the rootfs: replaced, not written through
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return fmt.Errorf("writing the container's %s: %w", name, err)
		}
	}
	return nil
}
