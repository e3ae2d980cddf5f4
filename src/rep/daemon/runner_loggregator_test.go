package daemon

import (
	"fmt"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	v2 "code.cloudfoundry.org/go-loggregator/v8/rpc/loggregator_v2"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/loggregator/loggregatortest"
)

// TestInstanceOutputReachesLoggregator: with a loggregator block, an
// instance's stdout and stderr arrive at the agent as Log envelopes tagged
// from its metric_tags, the index as instance_id, its log_source as
// source_type; its usage arrives as gauges tagged the same.
func TestInstanceOutputReachesLoggregator(t *testing.T) {
	certs := loggregatortest.NewCerts(t)
	agent := loggregatortest.Start(t, certs.Server, "127.0.0.1:0")
	f := addCell(t, newBBS(t), "cell-logs", func(s *Settings, _ *Options) {
		s.Loggregator = LoggregatorSettings{AgentAddress: agent.Addr, CAFile: certs.CAFile,
			CertFile: certs.ClientCertFile, KeyFile: certs.ClientKeyFile, BatchInterval: Duration(50 * time.Millisecond), MetricsInterval: Duration(100 * time.Millisecond)}
	})
	d := shLRP("pg-logs", "echo out-line; echo err-line >&2; exec sleep 600")
	d.LogSource = "CELL" // the run action's APP/PROC/WEB tags its lines, as in the executor
	d.MetricTags["app_id"] = &models.MetricTagValue{Static: "app-1"}
	d.MetricTags["instance_id"] = &models.MetricTagValue{Dynamic: models.MetricTagDynamicValueIndex}
	f.desireAndPlace(t, d, "ig-logs")
	var out, errl, gauge bool
	testutil.Eventually(t, waitFor, "both lines and a container metrics gauge", func() (bool, string) {
		for _, e := range agent.Envelopes() {
			if e.SourceId != "pg-logs" || e.InstanceId != "0" || e.Tags["app_id"] != "app-1" || e.Tags["instance_id"] != "0" {
				t.Fatalf("envelope source_id %q instance_id %q tags %v", e.SourceId, e.InstanceId, e.Tags)
			}
			if g := e.GetGauge(); g != nil {
				m := g.GetMetrics()
				gauge = m["cpu"].GetUnit() == "percentage" && m["memory"].GetUnit() == "bytes" && m["disk_quota"].GetUnit() == "bytes" && len(m) == 5
				if !gauge {
					t.Fatalf("gauge %v", m)
				}
				continue
			}
			if e.Tags["source_type"] != "APP/PROC/WEB" {
				t.Fatalf("log tags %v", e.Tags)
			}
			switch l := e.GetLog(); string(l.GetPayload()) {
			case "out-line":
				out = l.GetType() == v2.Log_OUT
			case "err-line":
				errl = l.GetType() == v2.Log_ERR
			default:
				t.Fatalf("unexpected line %q", l.GetPayload())
			}
		}
		return out && errl && gauge, fmt.Sprintf("stdout line as OUT: %v, stderr line as ERR: %v, gauge: %v", out, errl, gauge)
	})
}

func TestLoggregatorSettingsValidate(t *testing.T) {
	base := Settings{CellID: "c", CAFile: "a", CertFile: "b", KeyFile: "c", BBSAddress: "https://x", BBSCAFile: "a",
		BBSClientCertFile: "b", BBSClientKeyFile: "c", ContainerRootDir: "/tmp/x"}.WithDefaults()
	for name, tc := range map[string]struct {
		s  LoggregatorSettings
		ok bool
	}{
		"off":              {LoggregatorSettings{}, true},
		"on":               {LoggregatorSettings{AgentAddress: "127.0.0.1:3458", CAFile: "a", CertFile: "b", KeyFile: "c"}, true},
		"no client cert":   {LoggregatorSettings{AgentAddress: "127.0.0.1:3458", CAFile: "a"}, false},
		"negative batches": {LoggregatorSettings{AgentAddress: "127.0.0.1:3458", CAFile: "a", CertFile: "b", KeyFile: "c", BatchSize: -1}, false},
	} {
		s := base
		s.Loggregator = tc.s
		if err := s.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v", name, err)
		}
	}
}
