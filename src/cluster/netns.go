package cluster

import (
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// cellNet puts each cell's rep (and so its instances) in a network
// namespace of its own, joined to a bridge on the host by a veth pair, so a
// cell can be cut off the network without being killed (diego up --ha as
// root, process backend). The bridge, a /24 of its own in 10.250.0.0/14
// and every name derive from the cluster directory, so clusters on other
// directories do not collide; the control plane listens on the bridge's
// address (.1) and cell i on .10+i.
type cellNet struct {
	tag    string // 8 hex digits from the directory
	prefix string // "10.25x.y."
}

func newCellNet(dir string) *cellNet {
	h := crc32.ChecksumIEEE([]byte(dir))
	return &cellNet{tag: fmt.Sprintf("%08x", h), prefix: fmt.Sprintf("10.%d.%d.", 250+h%4, (h>>2)%256)}
}

func (n *cellNet) bridge() string      { return "dgo" + n.tag }
func (n *cellNet) hostIP() string      { return n.prefix + "1" }
func (n *cellNet) ns(i int) string     { return fmt.Sprintf("dgo%s-cell-%d", n.tag, i+1) }
func (n *cellNet) veth(i int) string   { return fmt.Sprintf("dgo%sv%d", n.tag, i) }
func (n *cellNet) cellIP(i int) string { return n.prefix + strconv.Itoa(10+i) }

// cellNetFor decides whether the cluster's cells get namespaces: with
// --ha, as root, on the process backend. why says otherwise.
func cellNetFor(o Options, dir string) (n *cellNet, why string) {
	switch {
	case !o.HA:
		return nil, ""
	case os.Geteuid() != 0:
		return nil, "not root: the cells share the host's network (run as root to give each a network namespace that can be cut)"
	case o.Backend != "process":
		return nil, "the runc backend manages its own networks: the cells share the host's network"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, "no `ip` command (iproute2): the cells share the host's network"
	}
	return newCellNet(dir), ""
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setup makes the bridge and each cell's namespace, replacing what a
// previous run left.
func (n *cellNet) setup(cells int) error {
	n.teardown(cells)
	if err := ipCmd("link", "add", n.bridge(), "type", "bridge"); err != nil {
		return fmt.Errorf("creating the cells' bridge: %w", err)
	}
	for _, s := range [][]string{{"addr", "add", n.hostIP() + "/24", "dev", n.bridge()}, {"link", "set", n.bridge(), "up"}} {
		if err := ipCmd(s...); err != nil {
			return err
		}
	}
	for i := 0; i < cells; i++ {
		ns, v := n.ns(i), n.veth(i)
		for _, s := range [][]string{
			{"netns", "add", ns},
			{"link", "add", v, "type", "veth", "peer", "name", v + "p"},
			{"link", "set", v + "p", "netns", ns},
			{"link", "set", v, "master", n.bridge()},
			{"link", "set", v, "up"},
			{"-n", ns, "link", "set", "lo", "up"},
			{"-n", ns, "link", "set", v + "p", "name", "eth0"},
			{"-n", ns, "addr", "add", n.cellIP(i) + "/24", "dev", "eth0"},
			{"-n", ns, "link", "set", "eth0", "up"},
		} {
			if err := ipCmd(s...); err != nil {
				return fmt.Errorf("cell-%d's network namespace: %w", i+1, err)
			}
		}
	}
	return nil
}

// teardown removes the namespaces, veths and the bridge (what is missing
// is skipped).
func (n *cellNet) teardown(cells int) {
	for i := 0; i < cells; i++ {
		_ = exec.Command("ip", "link", "del", n.veth(i)).Run()
		_ = exec.Command("ip", "netns", "del", n.ns(i)).Run()
	}
	if _, err := net.InterfaceByName(n.bridge()); err == nil {
		_ = exec.Command("ip", "link", "del", n.bridge()).Run()
	}
}

// cutRules are the iptables rules, inside cell i's namespace, that drop
// its packets to the given control-plane ports on the host: the cell loses
// the BBS and Locket while its apps stay reachable.
func (n *cellNet) cutRules(op string, ports []string) [][]string {
	var out [][]string
	for _, p := range ports {
		out = append(out, []string{op, "OUTPUT", "-d", n.hostIP(), "-p", "tcp", "--dport", p, "-j", "DROP"})
	}
	return out
}

// Partition cuts the cell off the BBS and Locket (every zone's) without
// stopping it: packets from its namespace to their ports are dropped, so
// its presence lapses and its requests time out, while its apps keep
// answering. It needs cells in namespaces (diego up --ha as root).
func (c *Cluster) Partition(cellID string) error { return c.partition(cellID, "-A") }

// Heal undoes Partition.
func (c *Cluster) Heal(cellID string) error { return c.partition(cellID, "-D") }

func (c *Cluster) partition(cellID, op string) error {
	n := c.l.net
	if n == nil {
		return fmt.Errorf("%s is not in a network namespace of its own: partitions need diego up --ha as root with the process backend", cellID)
	}
	i := -1
	for j := range c.reps {
		if c.l.cellID(j) == cellID {
			i = j
		}
	}
	if i < 0 {
		return fmt.Errorf("no cell %s", cellID)
	}
	var ports []string
	for z := 0; z < c.l.zones(); z++ {
		for _, a := range []string{c.l.bbsAddrZ(z), c.l.locketAddrZ(z)} {
			_, p, _ := net.SplitHostPort(a)
			ports = append(ports, p)
		}
	}
	for _, r := range n.cutRules(op, ports) {
		out, err := exec.Command("ip", append([]string{"netns", "exec", n.ns(i), "iptables"}, r...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("iptables %s in %s: %v: %s", strings.Join(r, " "), n.ns(i), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// teardownNet removes the cells' namespaces and bridge, if made.
func (c *Cluster) teardownNet() {
	if c.l.net != nil && c.netUp {
		c.l.net.teardown(c.opts.Cells)
		c.netUp = false
	}
}
