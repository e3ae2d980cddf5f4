package daemon

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
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
	agent, f := loggregatorCell(t, "cell-logs", nil)
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
			if e.Tags["source_type"] == "CELL" {
				continue // TestCellMessagesAndRateLimit
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

// loggregatorCell starts a cell sending to a new ingress server, its
// container output also kept in out (if set).
func loggregatorCell(t *testing.T, cellID string, out io.Writer) (*loggregatortest.Ingress, *cellFixture) {
	certs := loggregatortest.NewCerts(t)
	agent := loggregatortest.Start(t, certs.Server, "127.0.0.1:0")
	f := addCell(t, newBBS(t), cellID, func(s *Settings, o *Options) {
		s.Loggregator = LoggregatorSettings{AgentAddress: agent.Addr, CAFile: certs.CAFile,
			CertFile: certs.ClientCertFile, KeyFile: certs.ClientKeyFile, BatchInterval: Duration(50 * time.Millisecond), MetricsInterval: Duration(100 * time.Millisecond)}
		if out != nil {
			o.ContainerOutput = out
		}
	})
	return agent, f
}

// TestCellMessagesAndRateLimit: the rep's own messages about a container
// reach Loggregator, word for word as the executor's, tagged with the
// task's log_source (CELL) and tags, and are kept in the local output
// too; the app's lines reach Loggregator under the log_rate_limit exactly
// as they reach the local output, with the limiter's notice.
func TestCellMessagesAndRateLimit(t *testing.T) {
	out := &testutil.SyncBuffer{}
	agent, f := loggregatorCell(t, "cell-lgtask", out)
	def := taskDef(`for i in 1 2 3 4 5 6 7 8 9 10; do echo line-$i; done; echo oops >&2`, "")
	def.LogRateLimit = &models.LogRateLimit{BytesPerSecond: 20}
	def.LogSource, def.LogGuid = "CELL", "log-lgtask"
	def.MetricTags = map[string]*models.MetricTagValue{"app_id": {Static: "app-2"}}
	def.Action.RunAction.LogSource = "APP/TASK/t1"
	f.placeTask(t, "task-lg", def)
	if task := f.waitTask(t, "task-lg", models.Task_Completed); task.Failed {
		t.Fatalf("task failed: %s", task.FailureReason)
	}
	cell := []string{
		"Cell cell-lgtask creating container for instance task-lg",
		"Cell cell-lgtask successfully created container for instance task-lg",
		"Cell cell-lgtask stopping instance task-lg",
		"Cell cell-lgtask destroying container for instance task-lg",
		"Cell cell-lgtask successfully destroyed container for instance task-lg",
	}
	var gotCell, gotApp []string
	testutil.Eventually(t, waitFor, "the CELL messages", func() (bool, string) {
		gotCell, gotApp = nil, nil
		for _, e := range agent.Envelopes() {
			l := e.GetLog()
			if l == nil {
				continue
			}
			if e.SourceId != "log-lgtask" || e.InstanceId != "0" || e.Tags["app_id"] != "app-2" {
				t.Fatalf("envelope source_id %q instance_id %q tags %v", e.SourceId, e.InstanceId, e.Tags)
			}
			switch e.Tags["source_type"] {
			case "CELL":
				gotCell = append(gotCell, string(l.GetPayload()))
			case "APP/TASK/t1":
				gotApp = append(gotApp, string(l.GetPayload()))
				if want := map[bool]v2.Log_Type{true: v2.Log_ERR, false: v2.Log_OUT}[string(l.GetPayload()) == "oops"]; l.GetType() != want {
					t.Errorf("line %q is %v, want %v", l.GetPayload(), l.GetType(), want)
				}
			default:
				t.Fatalf("log tags %v", e.Tags)
			}
		}
		return slices.Equal(gotCell, cell), fmt.Sprintf("CELL lines %q", gotCell)
	})
	var local []string
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if strings.HasPrefix(line, "Cell ") {
			continue
		}
		local = append(local, line)
	}
	for _, want := range cell {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("local output %q lacks %q", out.String(), want)
		}
	}
	notice := "app instance exceeded log rate limit (20 bytes/sec)"
	// stderr's "oops" may pass before the limit is reached (the streams are
	// read concurrently), or not: either way both sides agree.
	if !slices.Equal(gotApp, local) || !slices.Contains(gotApp, notice) || slices.Contains(gotApp, "line-10") {
		t.Errorf("Loggregator got %q, the local output %q: want the same limited lines with the notice", gotApp, local)
	}
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

// TestLoggregatorDropsCountedOnMetrics: with the agent away and a buffer
// of one envelope, an app's lines are dropped, never blocking it, and the
// drops are on the rep's /metrics.
func TestLoggregatorDropsCountedOnMetrics(t *testing.T) {
	certs := loggregatortest.NewCerts(t)
	f := addCell(t, newBBS(t), "cell-lgdrop", func(s *Settings, o *Options) {
		s.MetricsAddress = "127.0.0.1:0"
		s.Loggregator = LoggregatorSettings{AgentAddress: testutil.FreeAddr(t), CAFile: certs.CAFile,
			CertFile: certs.ClientCertFile, KeyFile: certs.ClientKeyFile, BufferSize: 1}
		o.ContainerOutput = io.Discard
	})
	f.placeTask(t, "task-lgdrop", taskDef(`i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done`, ""))
	if task := f.waitTask(t, "task-lgdrop", models.Task_Completed); task.Failed {
		t.Fatalf("task failed: %s", task.FailureReason)
	}
	re := regexp.MustCompile(`(?m)^diego_rep_loggregator_dropped_envelopes_total\{cell_id="cell-lgdrop",zone="z1"\} (\d+)$`)
	testutil.Eventually(t, waitFor, "the drops on /metrics", func() (bool, string) {
		resp, err := http.Get("http://" + f.d.MetricsAddr() + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := re.FindSubmatch(b)
		if m == nil {
			return false, string(b)
		}
		n, _ := strconv.Atoi(string(m[1]))
		// How many of the 200 lines are dropped depends on how the sender's
		// dial attempts interleave with the app's writes (on a busy machine
		// about half); that some are, and that /metrics counts every one the
		// daemon dropped, does not.
		return n > 0 && uint64(n) == f.d.LoggregatorDropped(), fmt.Sprintf("dropped %d (daemon says %d)", n, f.d.LoggregatorDropped())
	})
}
