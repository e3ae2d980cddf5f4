package garden

import (
	"fmt"
	"net"
	"strings"

	gardenapi "code.cloudfoundry.org/garden"

	"github.com/diego-go/diego/src/rep/container"
)

// netOut converts egress rules into Garden's net-out rules, as the
// executor does (a range wins over ports).
func netOut(rules []container.EgressRule) ([]gardenapi.NetOutRule, error) {
	var out []gardenapi.NetOutRule
	for i, r := range rules {
		var n gardenapi.NetOutRule
		switch r.Protocol {
		case "tcp":
			n.Protocol = gardenapi.ProtocolTCP
		case "udp":
			n.Protocol = gardenapi.ProtocolUDP
		case "icmp":
			n.Protocol = gardenapi.ProtocolICMP
			// -1 (any) becomes 255, as the executor passes it.
			n.ICMPs = &gardenapi.ICMPControl{
				Type: gardenapi.ICMPType(uint8(r.ICMPType)),
				Code: gardenapi.ICMPControlCode(uint8(r.ICMPCode)),
			}
		case "all", "":
			n.Protocol = gardenapi.ProtocolAll
		default:
			return nil, fmt.Errorf("egress rule %d: protocol %q: want tcp, udp, icmp or all", i, r.Protocol)
		}
		if r.PortRange != nil {
			n.Ports = []gardenapi.PortRange{{Start: uint16(r.PortRange[0]), End: uint16(r.PortRange[1])}}
		} else {
			for _, p := range r.Ports {
				n.Ports = append(n.Ports, gardenapi.PortRangeFromPort(uint16(p)))
			}
		}
		for _, d := range r.Destinations {
			ipr, err := ipRange(d)
			if err != nil {
				return nil, fmt.Errorf("egress rule %d: %w", i, err)
			}
			n.Networks = append(n.Networks, ipr)
		}
		n.Log = r.Log
		out = append(out, n)
	}
	return out, nil
}

// ipRange parses an address, a CIDR or "FIRST-LAST".
func ipRange(d string) (gardenapi.IPRange, error) {
	if ip := net.ParseIP(d); ip != nil {
		return gardenapi.IPRangeFromIP(ip), nil
	}
	if _, ipn, err := net.ParseCIDR(d); err == nil {
		return gardenapi.IPRangeFromIPNet(ipn), nil
	}
	first, last, _ := strings.Cut(d, "-")
	a, z := net.ParseIP(first), net.ParseIP(last)
	if a == nil || z == nil {
		return gardenapi.IPRange{}, fmt.Errorf("destination %q: want an address, CIDR or FIRST-LAST range", d)
	}
	return gardenapi.IPRange{Start: a, End: z}, nil
}
