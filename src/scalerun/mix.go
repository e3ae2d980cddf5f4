package scalerun

import (
	"encoding/json"
	"fmt"

	"code.cloudfoundry.org/bbs/models"
)

// Domain is the domain every benchmark LRP is desired in.
const Domain = "bench-scale"

// mix returns the instance count of each process: the reference's
// benchmark-bbs shape (many apps of 2 and 3 instances) with every 100th
// app large (20 instances), the last one trimmed so the sum is exactly
// total.
func mix(total int) []int {
	var out []int
	for sum, i := 0, 0; sum < total; i++ {
		n := 2 + i%2
		if i%100 == 99 {
			n = 20
		}
		n = min(n, total-sum)
		out = append(out, n)
		sum += n
	}
	return out
}

func processGuid(i int) string { return fmt.Sprintf("bench-%07d", i) }

// desiredLRP is process i shaped as the reference benchmark's (and Cloud
// Controller's) LRPs, without the droplet download: a simulated cell has
// no blobstore to fetch it from.
func desiredLRP(i, instances int) *models.DesiredLRP {
	pg := processGuid(i)
	raw := json.RawMessage(fmt.Sprintf(`[{"hostnames":["app-%d.apps.example.com"],"port":8080}]`, i))
	routes := models.Routes{"cf-router": &raw}
	return &models.DesiredLRP{
		ProcessGuid: pg, Domain: Domain, RootFs: "preloaded:cflinuxfs4", Instances: int32(instances),
		MemoryMb: 256, DiskMb: 1024, LogGuid: pg, MetricsGuid: pg, Ports: []uint32{8080},
		EnvironmentVariables: []*models.EnvironmentVariable{
			{Name: "VCAP_APPLICATION", Value: fmt.Sprintf(`{"application_id":"%s","name":"app-%d","space_name":"prod"}`, pg, i)},
			{Name: "MEMORY_LIMIT", Value: "256m"},
		},
		Action:         models.WrapAction(&models.RunAction{Path: "/tmp/lifecycle/launcher", Args: []string{"app", "bundle exec rackup", ""}, User: "vcap"}),
		Monitor:        models.WrapAction(&models.RunAction{Path: "/tmp/lifecycle/healthcheck", Args: []string{"-port=8080"}, User: "vcap"}),
		Routes:         &routes,
		StartTimeoutMs: 600_000,
		MetricTags: map[string]*models.MetricTagValue{
			"source_id": {Static: pg}, "instance_id": {Dynamic: models.MetricTagDynamicValueIndex},
		},
	}
}
