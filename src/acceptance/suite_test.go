package acceptance

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
)

// env is what every test uses: the config, a BBS client and where the
// sample app is served. It is set up once, by the first test that needs it.
type env struct {
	cfg    Config
	client bbs.InternalClient
	logger lager.Logger
	appURL string
	// cacheKey names the app artifact in the cells' download caches.
	cacheKey string
	// cluster is the `diego up` the suite started itself, nil when it runs
	// against a configured Diego.
	cluster *cluster
	// logs is the Loggregator ingress server of the logs group (nil when
	// the group is off).
	logs *logsIngress
}

var (
	setupOnce sync.Once
	setupEnv  *env
	setupErr  error
	// teardowns run after the tests, last first; failed says whether any
	// test failed.
	teardowns []func(failed bool)
)

// suite returns the shared env, setting it up on first use: from
// ACCEPTANCE_CONFIG when set, otherwise by starting `diego up`.
func suite(t *testing.T) *env {
	t.Helper()
	setupOnce.Do(func() { setupEnv, setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("acceptance setup: %v", setupErr)
	}
	return setupEnv
}

func setup() (*env, error) {
	e := &env{logger: lager.NewLogger("acceptance")}
	if path := os.Getenv("ACCEPTANCE_CONFIG"); path != "" {
		cfg, err := LoadConfig(path)
		if err != nil {
			return nil, err
		}
		e.cfg = cfg
		if cfg.Enabled(GroupLogs) {
			l, err := serveConfiguredLogs(cfg)
			if err != nil {
				return nil, err
			}
			teardowns = append(teardowns, func(bool) { l.ingress.Stop() })
			e.logs = l
		}
	} else {
		c, err := startCluster()
		if c != nil {
			teardowns = append(teardowns, c.stop)
		}
		if err != nil {
			return nil, err
		}
		e.cluster = c
		cfg, err := ConfigFromTarget(c.targetFile)
		if err != nil {
			return nil, err
		}
		if err := c.addTaggedCell(); err != nil {
			return nil, err
		}
		cfg.PlacementTags = []string{taggedCellTag}
		cfg.FeatureGroups = append(cfg.FeatureGroups, GroupLogs)
		cfg.LoggregatorListen, cfg.LoggregatorCACert = c.logs.ingress.Addr, c.logs.certs.CAFile
		cfg.LoggregatorCert, cfg.LoggregatorKey = c.logs.certs.ServerCertFile, c.logs.certs.ServerKeyFile
		e.cfg, e.logs = cfg, c.logs
	}
	client, err := bbs.NewClient(e.cfg.BBSURL, e.cfg.CACert, e.cfg.ClientCert, e.cfg.ClientKey, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("bbs client: %w", err)
	}
	e.client = client
	deadline := time.Now().Add(30 * time.Second)
	for !client.Ping(e.logger, "") {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the BBS at %s does not answer /v1/ping", e.cfg.BBSURL)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Right after a deploy the BBS may serve before the reps' presences
	// reached Locket: wait for min_cells cells.
	ready, _ := time.ParseDuration(e.cfg.ReadyTimeout)
	if ready <= 0 {
		ready = 2 * time.Minute
	}
	for deadline := time.Now().Add(ready); ; time.Sleep(500 * time.Millisecond) {
		cells, err := client.Cells(e.logger, "")
		if err == nil && len(cells) >= e.cfg.MinCells {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the BBS lists %d cells (%v) after %s; min_cells is %d: are the reps running and registered with Locket?", len(cells), err, ready, e.cfg.MinCells)
		}
	}
	if len(e.cfg.PlacementTags) > 0 && e.cluster != nil {
		// wait for the tagged cell to be among the BBS's cells
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			cells, err := client.Cells(e.logger, "")
			if err == nil && slices.ContainsFunc(cells, func(c *models.CellPresence) bool { return c.CellId == "cell-tagged" }) {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("the tagged cell did not join within 30s (cells: %v, %v); see %s", cells, err, e.cluster.dir+"/cells/cell-tagged/rep.log")
			}
		}
	}
	if e.cfg.AppURL != "" {
		e.appURL, e.cacheKey = e.cfg.AppURL, "acceptance-sample-app-configured"
	} else {
		url, key, stop, err := serveSampleApp(e.cfg.AppListen, e.cfg.AppTgz)
		if err != nil {
			return nil, err
		}
		teardowns = append(teardowns, func(bool) { stop() })
		e.appURL, e.cacheKey = url, key
	}
	return e, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(teardowns) - 1; i >= 0; i-- {
		teardowns[i](code != 0)
	}
	os.Exit(code)
}

// group runs fn as subtest name when the config enables the group, and
// says so plainly when it does not.
func (e *env) group(t *testing.T, name string, parallel bool, fn func(t *testing.T, e *env)) {
	t.Run(name, func(t *testing.T) {
		if !e.cfg.Enabled(name) {
			t.Skipf("feature group %q is not in the config's feature_groups", name)
		}
		if parallel {
			t.Parallel()
		}
		fn(t, e)
	})
}

// TestAcceptance runs the feature groups: the independent ones in
// parallel, then the ones that disturb the cluster one at a time, rep_kill
// last since it takes a cell away for good.
func TestAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("the acceptance suite starts a cluster: not in -short mode")
	}
	e := suite(t)
	start := time.Now()
	t.Run("independent", func(t *testing.T) {
		e.group(t, GroupTasks, true, testTasks)
		e.group(t, GroupLRPs, true, testLRPs)
		e.group(t, GroupCrashes, true, testCrashes)
		e.group(t, GroupPlacement, true, testPlacement)
		e.group(t, GroupZones, true, testZones)
		e.group(t, GroupBadRequests, true, testBadRequests)
		e.group(t, GroupCloudFoundry, true, testCloudFoundry)
		e.group(t, GroupLogs, true, testLogs)
		e.group(t, GroupRoutes, true, testRoutes)
		e.group(t, GroupSSH, true, testSSH)
	})
	e.group(t, GroupEvacuation, false, testEvacuation)
	e.group(t, GroupBBSRestart, false, testBBSRestart)
	e.group(t, GroupRepKill, false, testRepKill)
	t.Logf("acceptance suite: %s", time.Since(start).Round(time.Millisecond))
}
