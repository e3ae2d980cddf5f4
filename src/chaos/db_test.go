//go:build chaos

package chaos

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/diego-go/diego/src/cluster"
	"github.com/diego-go/diego/src/internal/faultproxy"
	"github.com/diego-go/diego/src/internal/testdb"
)

// TestDatabaseUnreachable cuts the database (PostgreSQL, behind a fault
// proxy that Locket and the BBS reach it through) for 20 s, once as a
// blackhole (a partition: nothing answers) and once refused (the server
// down), under load. The apps keep answering throughout, failed writes
// carry typed errors and none hangs, no component is restarted, and the
// cluster recovers on its own with no acknowledged write lost.
func TestDatabaseUnreachable(t *testing.T) {
	dsn := testdb.Postgres(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := faultproxy.New(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	u.Host = proxy.Addr()
	c := Up(t, cluster.Options{Cells: 2, DB: u.String()})
	c.DesireApp(t, "db-app", 3)

	for _, mode := range []faultproxy.Mode{faultproxy.Blackhole, faultproxy.Refuse} {
		t.Run(mode.String(), func(t *testing.T) {
			components := []string{"bbs", "auctioneer", "locket", "rep-cell-1", "rep-cell-2"}
			leading := c.Counts("stopped leading", components...)
			presence := c.Counts("presence lost", components...)
			lostCells := c.LogCount("bbs", "cell presence lost; converging now")
			restarts := map[string]int{"bbs": c.Restarts("bbs"), "auctioneer": c.Restarts("auctioneer"), "locket": c.Restarts("locket")}
			instances := c.Instances(t, "db-app")
			load := c.StartLoad(t, "db-"+mode.String(), "db-app")
			time.Sleep(5 * time.Second)
			f := Fault{Start: time.Now()}
			proxy.Cut(mode)
			time.Sleep(20 * time.Second)
			f.End = time.Now()
			if err := proxy.Restore(); err != nil {
				t.Fatal(err)
			}
			during := load.Prober.Stats(f.Start, f.End)
			// Every second of the cut, each app answered (a single probe
			// of one instance may time out on a loaded machine: it is
			// counted in the figures and logged).
			if during.DownSeconds > 0 {
				t.Errorf("the apps did not keep answering while the database was cut: %d s with an app answering no probe (%d of %d probes failed)",
					during.DownSeconds, during.Failed, during.OK+during.Failed)
			}
			if during.Failed > 0 {
				t.Logf("failed probes: %v", load.Prober.Failures())
			}
			replaced := 0
			c.FinishThen(t, "database unreachable 20 s ("+mode.String()+")", load, f, 2*time.Minute, nil, func() map[string]string {
				replaced = Replaced(instances, c.Instances(t, "db-app"))
				return map[string]string{
					"app instances replaced": fmt.Sprint(replaced),
					"component restarts": fmt.Sprintf("bbs %d, auctioneer %d, locket %d", c.Restarts("bbs")-restarts["bbs"],
						c.Restarts("auctioneer")-restarts["auctioneer"], c.Restarts("locket")-restarts["locket"]),
					"leaders stepped down": Since(leading, c.Counts("stopped leading", components...)),
					"cell presences lost":  Since(presence, c.Counts("presence lost", components...)),
					"cells the BBS saw go": fmt.Sprint(c.LogCount("bbs", "cell presence lost; converging now") - lostCells),
				}
			})
			// No flapping: each leader steps down at most once (its lock
			// expires once while Locket cannot reach the database), and no
			// app instance is restarted or moved.
			now := c.Counts("stopped leading", components...)
			for _, name := range []string{"bbs", "auctioneer"} {
				if d := now[name] - leading[name]; d > 1 {
					t.Errorf("%s stepped down %d times during one outage: its lock flapped", name, d)
				}
			}
			if replaced > 0 {
				t.Errorf("%d of db-app's instances were replaced after the outage: the outage restarted apps", replaced)
			}
		})
	}
}
