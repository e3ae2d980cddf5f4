package desiredcache_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/desiredcache"
	"github.com/diego-go/diego/src/bbs/store/sqlstore"
	"github.com/diego-go/diego/src/internal/testdb"
)

// BenchmarkCacheFootprint reports the heap the cache holds per desired LRP
// for an app shaped like the benchmark's (env, setup, action, monitor, routes).
func BenchmarkCacheFootprint(b *testing.B) {
	n := 20000
	inner, c := open(b, sqlstore.DriverSQLite, testdb.SQLite(b))
	ctx := context.Background()
	for i := 0; i < n; i += 500 {
		if err := c.Update(ctx, func(tx store.Tx) error {
			for j := i; j < i+500; j++ {
				if err := tx.InsertDesiredLRP(benchLRP(j)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fresh, err := desiredcache.New(ctx, inner)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(fresh)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-bytes/lrp")
	}
}

func benchLRP(i int) *models.DesiredLRP {
	g := fmt.Sprintf("bench-%08d", i)
	raw := json.RawMessage(fmt.Sprintf(`[{"hostnames":["app-%d.apps.example.com"],"port":8080}]`, i))
	routes := models.Routes{"cf-router": &raw}
	return &models.DesiredLRP{
		ProcessGuid: g, Domain: "bench", RootFs: "preloaded:cflinuxfs4", Instances: 2,
		MemoryMb: 256, DiskMb: 1024, LogGuid: g, MetricsGuid: g, Ports: []uint32{8080},
		EnvironmentVariables: []*models.EnvironmentVariable{
			{Name: "VCAP_APPLICATION", Value: fmt.Sprintf(`{"application_id":"%s","name":"app-%d","space_name":"prod"}`, g, i)},
			{Name: "MEMORY_LIMIT", Value: "256m"},
		},
		Setup:           models.WrapAction(&models.DownloadAction{From: "http://blobstore/droplet/" + g, To: ".", User: "vcap"}),
		Action:          models.WrapAction(&models.RunAction{Path: "/tmp/lifecycle/launcher", Args: []string{"app", "bundle exec rackup", ""}, User: "vcap"}),
		Monitor:         models.WrapAction(&models.RunAction{Path: "/tmp/lifecycle/healthcheck", Args: []string{"-port=8080"}, User: "vcap"}),
		Routes:          &routes,
		MetricTags:      map[string]*models.MetricTagValue{"source_id": {Static: g}},
		ModificationTag: &models.ModificationTag{Epoch: "e"},
	}
}
