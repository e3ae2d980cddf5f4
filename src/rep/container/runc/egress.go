package runc

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"

	"github.com/diego-go/diego/src/rep/container"
)

// Egress rules are enforced in the container's own network namespace: its
// filter table's OUTPUT chain accepts loopback, replies to connections
// (established/related: what comes in through the port proxies), DNS to
// the configured servers and what the rules allow, and rejects everything
// else (garden's default deny). The rules vanish with the netns.

// multiportMax is how many ports one iptables multiport match takes.
const multiportMax = 15

// egressRuleset is the iptables-restore input for a container's netns.
func egressRuleset(id string, dns []string, rules []container.EgressRule) (string, error) {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	b.WriteString("-A OUTPUT -o lo -j ACCEPT\n")
	b.WriteString("-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n")
	for _, ns := range dns {
		for _, proto := range []string{"udp", "tcp"} {
			fmt.Fprintf(&b, "-A OUTPUT -p %s -d %s --dport 53 -j ACCEPT\n", proto, ns)
		}
	}
	for i, r := range rules {
		lines, err := egressRuleLines(id, r)
		if err != nil {
			return "", fmt.Errorf("egress rule %d: %w", i, err)
		}
		for _, l := range lines {
			b.WriteString("-A OUTPUT " + l + "\n")
		}
	}
	// Rejected, not dropped: a denied connection fails at once.
	b.WriteString("-A OUTPUT -p tcp -j REJECT --reject-with tcp-reset\n")
	b.WriteString("-A OUTPUT -j REJECT --reject-with icmp-port-unreachable\nCOMMIT\n")
	return b.String(), nil
}

// egressRuleLines are the iptables rule specs (without "-A OUTPUT") of one
// rule: one per destination and group of ports, each preceded by a LOG of
// new connections when the rule logs.
func egressRuleLines(id string, r container.EgressRule) ([]string, error) {
	var proto []string
	var portSpecs [][]string
	switch r.Protocol {
	case "all", "":
	case "tcp", "udp":
		proto = []string{"-p", r.Protocol}
		var err error
		if portSpecs, err = portMatches(r); err != nil {
			return nil, err
		}
	case "icmp":
		proto = []string{"-p", "icmp"}
		if r.ICMPType >= 0 && r.ICMPType < 255 {
			t := strconv.Itoa(int(r.ICMPType))
			if r.ICMPCode >= 0 && r.ICMPCode < 255 {
				t += "/" + strconv.Itoa(int(r.ICMPCode))
			}
			portSpecs = [][]string{{"--icmp-type", t}}
		}
	default:
		return nil, fmt.Errorf("protocol %q: want tcp, udp, icmp or all", r.Protocol)
	}
	if len(portSpecs) == 0 {
		portSpecs = [][]string{nil}
	}
	dests := r.Destinations
	if len(dests) == 0 {
		dests = []string{"0.0.0.0/0"}
	}
	// As garden: only tcp and all rules log (new connections).
	logNew := r.Log && (r.Protocol == "tcp" || r.Protocol == "all" || r.Protocol == "")
	var lines []string
	for _, d := range dests {
		dm, err := destMatch(d)
		if err != nil {
			return nil, err
		}
		for _, ps := range portSpecs {
			match := strings.Join(append(append(append([]string{}, proto...), dm...), ps...), " ")
			if logNew {
				lines = append(lines, match+` -m conntrack --ctstate NEW -j LOG --log-prefix "diego-`+id+` "`)
			}
			lines = append(lines, match+" -j ACCEPT")
		}
	}
	return lines, nil
}

// portMatches are the port matches of a tcp/udp rule (none = every port).
func portMatches(r container.EgressRule) ([][]string, error) {
	if r.PortRange != nil {
		lo, hi := r.PortRange[0], r.PortRange[1]
		if lo == 0 || hi > 65535 || lo > hi {
			return nil, fmt.Errorf("port range %d-%d: want 1 <= start <= end <= 65535", lo, hi)
		}
		return [][]string{{"--dport", fmt.Sprintf("%d:%d", lo, hi)}}, nil
	}
	var specs [][]string
	for i := 0; i < len(r.Ports); i += multiportMax {
		var ps []string
		for _, p := range r.Ports[i:min(i+multiportMax, len(r.Ports))] {
			if p == 0 || p > 65535 {
				return nil, fmt.Errorf("port %d: want 1-65535", p)
			}
			ps = append(ps, strconv.Itoa(int(p)))
		}
		specs = append(specs, []string{"-m", "multiport", "--dports", strings.Join(ps, ",")})
	}
	return specs, nil
}

// destMatch matches a destination: an IPv4 address, CIDR or "FIRST-LAST".
func destMatch(d string) ([]string, error) {
	bad := fmt.Errorf("destination %q: want an IPv4 address, CIDR or FIRST-LAST range", d)
	if a, err := netip.ParseAddr(d); err == nil {
		if !a.Is4() {
			return nil, bad
		}
		return []string{"-d", a.String()}, nil
	}
	if strings.Contains(d, "/") {
		p, err := netip.ParsePrefix(d)
		if err != nil || !p.Addr().Is4() {
			return nil, bad
		}
		return []string{"-d", p.Masked().String()}, nil
	}
	first, last, _ := strings.Cut(d, "-")
	a, err1 := netip.ParseAddr(strings.TrimSpace(first))
	z, err2 := netip.ParseAddr(strings.TrimSpace(last))
	if err1 != nil || err2 != nil || !a.Is4() || !z.Is4() || z.Less(a) {
		return nil, bad
	}
	return []string{"-m", "iprange", "--dst-range", a.String() + "-" + z.String()}, nil
}

// applyEgress loads the container's ruleset into its netns.
func (c *Container) applyEgress(ctx context.Context) error {
	rules, err := egressRuleset(c.m.ID, c.b.cfg.DNSServers, c.m.Spec.EgressRules)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, c.b.tools.nsenter, "--net="+c.m.Net.nsPath(), c.b.tools.iptablesRestore)
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("loading the egress rules into the container's netns (iptables-restore): %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
