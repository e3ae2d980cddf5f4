package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/target"
)

// haOffset separates zone z2's control plane from z1's: with --ha, z2's
// BBS listens at PortBase+200, its health at +201, its Locket at +202 and
// its auctioneer at +203 (the same offsets as z1's, plus 200, clear of the
// cells' ports, which end below +110).
const haOffset = 200

// haPorts is how far above PortBase an --ha cluster listens.
const haPorts = haOffset + 3

// zones is how many copies of Locket, the BBS and the auctioneer run: one,
// or two with --ha (zones z1 and z2).
func (l layout) zones() int {
	if l.opts.HA {
		return 2
	}
	return 1
}

// The control plane of zone z (0 for z1, 1 for z2).
func (l layout) bbsAddrZ(z int) string        { return l.addr(haOffset*z + 0) }
func (l layout) healthAddrZ(z int) string     { return l.addr(haOffset*z + 1) }
func (l layout) locketAddrZ(z int) string     { return l.addr(haOffset*z + 2) }
func (l layout) auctioneerAddrZ(z int) string { return l.addr(haOffset*z + 3) }

// suffix names zone z's copy of a component: "bbs" for z1 (as without
// --ha), "bbs-z2" for z2.
func suffix(name string, z int) string {
	if z == 0 {
		return name
	}
	return name + "-z2"
}

// inZoneOrder lists zone z's address first, then the others' (a BBS or
// auctioneer client tries them in that order; the Locket client balances
// over all).
func (l layout) inZoneOrder(z int, addr func(int) string, prefix string) string {
	n := l.zones()
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, prefix+addr((z+i)%n))
	}
	return strings.Join(out, ",")
}

// bbsURLs is every BBS, comma-separated (one without --ha): only the lock
// holder serves; clients fail over (src/internal/bbsaddr).
func (l layout) bbsURLs() string { return l.inZoneOrder(0, l.bbsAddrZ, "https://") }

// locketAddrs is every Locket server, zone z's first.
func (l layout) locketAddrs(z int) string { return l.inZoneOrder(z, l.locketAddrZ, "") }

// auctioneerAddrs is every auctioneer; only the lock holder listens.
func (l layout) auctioneerAddrs() string { return l.inZoneOrder(0, l.auctioneerAddrZ, "") }

// cellZone is the control-plane zone whose Locket a cell asks first.
func (l layout) cellZone(i int) int { return i % l.zones() }

// controlPlane is one zone's Locket, BBS and auctioneer.
type controlPlane struct {
	locket, bbs, auction *child
}

// controlChildren lists every zone's Locket, BBS and auctioneer.
func (c *Cluster) controlChildren() []*child {
	var out []*child
	for _, p := range c.planes {
		out = append(out, p.locket, p.bbs, p.auction)
	}
	return out
}

// startLockets starts every Locket server, each ready (listening) before
// the next.
func (c *Cluster) startLockets(ctx context.Context) error {
	for z, p := range c.planes {
		addr := c.l.locketAddrZ(z)
		if err := c.startWait(ctx, p.locket, "Locket on "+addr+c.l.zoneNote(z), func() error { return dialOK(addr) }); err != nil {
			return err
		}
	}
	return nil
}

// startBBSes starts z1's BBS and waits until it serves, then z2's (with
// --ha), which stays a standby: its health endpoint answers, its API port
// stays closed until it takes the lock.
func (c *Cluster) startBBSes(ctx context.Context, client bbs.InternalClient) error {
	lg := lager.NewLogger("diego-up")
	for z, p := range c.planes {
		what := "BBS on https://" + c.l.bbsAddrZ(z) + c.l.zoneNote(z)
		ready := func() error {
			if !client.Ping(lg, "") {
				return errors.New("not answering yet")
			}
			return nil
		}
		if z > 0 {
			what = "standby " + what
			health := c.l.healthAddrZ(z)
			ready = func() error { return dialOK(health) }
		}
		if err := c.startWait(ctx, p.bbs, what, ready); err != nil {
			return err
		}
	}
	return nil
}

// startAuctioneers starts z1's auctioneer and waits until it listens (it
// holds the lock), then z2's, which waits for the lock with its port
// closed: it is ready once it has run for a second without exiting.
func (c *Cluster) startAuctioneers(ctx context.Context) error {
	for z, p := range c.planes {
		addr := c.l.auctioneerAddrZ(z)
		what := "auctioneer on https://" + addr + c.l.zoneNote(z)
		ready := func() error { return dialOK(addr) }
		if z > 0 {
			what = "standby " + what
			started := time.Now()
			ready = func() error {
				if time.Since(started) < time.Second {
					return errors.New("starting")
				}
				return nil
			}
		}
		if err := c.startWait(ctx, p.auction, what, ready); err != nil {
			return err
		}
	}
	return nil
}

// zoneNote names the zone in progress lines of an --ha cluster.
func (l layout) zoneNote(z int) string {
	if !l.opts.HA {
		return ""
	}
	return fmt.Sprintf(" (z%d)", z+1)
}

// describeHA adds every zone's processes to the target file.
func (c *Cluster) describeHA(t *target.File) {
	for _, ch := range c.controlChildren() {
		t.PIDs[ch.name] = ch.pid()
	}
	if !c.opts.HA {
		return
	}
	for z := range c.planes {
		t.BBSHealthURLs = append(t.BBSHealthURLs, "http://"+c.l.healthAddrZ(z))
	}
}
