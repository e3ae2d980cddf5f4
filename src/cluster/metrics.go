package cluster

import (
	"net"
	"strconv"
)

// metricsOffset is where the Prometheus endpoints diego up enables listen
// above the port base, after every other port of the plan (so the older
// ones stay where they were): zone z's auctioneer at PortBase+204+2z and its
// Locket at +205+2z. The BBS serves /metrics on its health listener.
const metricsOffset = haPorts + 1

// The metrics listeners are on loopback: only the Hub (on this machine)
// reads them.
func (l layout) metricsAddr(offset int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(l.opts.PortBase+metricsOffset+offset))
}
func (l layout) auctioneerMetricsAddrZ(z int) string { return l.metricsAddr(2 * z) }
func (l layout) locketMetricsAddrZ(z int) string     { return l.metricsAddr(2*z + 1) }

// metricsURLs are the components' Prometheus endpoints by the names the
// Hub shows them under (z2's with a "-z2" suffix under --ha).
func (l layout) metricsURLs() map[string]string {
	out := map[string]string{}
	for z := 0; z < l.zones(); z++ {
		out[suffix("bbs", z)] = "http://" + l.healthAddrZ(z) + "/metrics"
		out[suffix("auctioneer", z)] = "http://" + l.auctioneerMetricsAddrZ(z) + "/metrics"
		out[suffix("locket", z)] = "http://" + l.locketMetricsAddrZ(z) + "/metrics"
	}
	return out
}
