package acceptance

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
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

// logsIngress is the logs group's Loggregator ingress server (the pinned
// go-loggregator protos' Ingress service) and, when the suite made them,
// its certificates.
type logsIngress struct {
	ingress *loggregatortest.Ingress
	certs   loggregatortest.Certs
}

// startLogsIngress makes a CA, server and client certificates in dir and
// serves the ingress on a free port of 127.0.0.1, for the `diego up` the
// suite starts.
func startLogsIngress(dir string) (*logsIngress, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	certs, err := loggregatortest.WriteCerts(dir)
	if err != nil {
		return nil, fmt.Errorf("loggregator certificates: %w", err)
	}
	in, err := loggregatortest.Serve(certs.Server, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &logsIngress{ingress: in, certs: certs}, nil
}

// upFlags point diego up's reps at the ingress.
func (l *logsIngress) upFlags() []string {
	return []string{"--loggregator-address", l.ingress.Addr, "--loggregator-ca", l.certs.CAFile,
		"--loggregator-cert", l.certs.ClientCertFile, "--loggregator-key", l.certs.ClientKeyFile}
}

// serveConfiguredLogs serves the ingress as the config says
// (loggregator_listen and the certificate files).
func serveConfiguredLogs(cfg Config) (*logsIngress, error) {
	pair, err := tls.LoadX509KeyPair(cfg.LoggregatorCert, cfg.LoggregatorKey)
	if err != nil {
		return nil, fmt.Errorf("loggregator_cert/loggregator_key: %w", err)
	}
	ca, err := os.ReadFile(cfg.LoggregatorCACert)
	if err != nil {
		return nil, fmt.Errorf("loggregator_ca_cert: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, errors.New("loggregator_ca_cert: no PEM certificate in " + cfg.LoggregatorCACert)
	}
	in, err := loggregatortest.Serve(loggregatortest.ServerTLS(pair, pool), cfg.LoggregatorListen)
	if err != nil {
		return nil, fmt.Errorf("loggregator_listen: %w", err)
	}
	return &logsIngress{ingress: in}, nil
}

// envelopesOf is what arrived from the LRP or task whose source_id is id.
func (l *logsIngress) envelopesOf(id string) []*v2.Envelope {
	var out []*v2.Envelope
	for _, e := range l.ingress.Envelopes() {
		if e.SourceId == id {
			out = append(out, e)
		}
	}
	return out
}

// logLine is one Log envelope as the group checks it.
type logLine struct {
	instance, sourceType, payload string
	err                           bool
}

func logLines(es []*v2.Envelope) []logLine {
	var out []logLine
	for _, e := range es {
		if l := e.GetLog(); l != nil {
			out = append(out, logLine{e.InstanceId, e.Tags["source_type"], string(l.GetPayload()), l.GetType() == v2.Log_ERR})
		}
	}
	return out
}

// testLogs: an LRP's stdout and stderr lines, the cells' CELL messages
// about its containers and its container metrics reach the Loggregator
// ingress with its source_id, instance_id, source_type and metric_tags,
// and so do a task's lines; `diego logs` still shows the local output.
func testLogs(t *testing.T, e *env) {
	if e.logs == nil {
		t.Fatal("no Loggregator ingress server: the config's loggregator_listen was not served")
	}
	domain := e.domain(t)
	t.Run("lrp", func(t *testing.T) { e.testLRPLogs(t, domain) })
	t.Run("task", func(t *testing.T) { e.testTaskLogs(t, domain) })
}

func (e *env) testLRPLogs(t *testing.T, domain string) {
	g := guid(t, "logs")
	lrp := e.appLRP(g, domain, 2)
	lrp.LogSource = "CELL" // as Cloud Controller sets it; the run action's own tags the app's lines
	lrp.Action = models.WrapAction(&models.RunAction{Path: "/bin/sh", Dir: appDir, User: "vcap", LogSource: "APP/PROC/WEB",
		Args: []string{"-c", "echo out-$INSTANCE_INDEX; echo err-$INSTANCE_INDEX >&2; exec ./sample-app"}})
	lrp.MetricTags = map[string]*models.MetricTagValue{
		"source_id":           {Static: g},
		"app_id":              {Static: "app-" + g},
		"instance_id":         {Dynamic: models.MetricTagDynamicValueIndex},
		"process_instance_id": {Dynamic: models.MetricTagDynamicValueInstanceGuid},
	}
	e.desire(t, lrp)
	lrps := e.waitRunning(t, g, 2, 2*time.Minute)

	for _, l := range lrps {
		i := strconv.Itoa(int(l.Index))
		want := []logLine{
			{i, "APP/PROC/WEB", "out-" + i, false},
			{i, "APP/PROC/WEB", "err-" + i, true},
			{i, "CELL", fmt.Sprintf("Cell %s creating container for instance %s", l.CellId, l.InstanceGuid), false},
			{i, "CELL", fmt.Sprintf("Cell %s successfully created container for instance %s", l.CellId, l.InstanceGuid), false},
		}
		testutil.Eventually(t, time.Minute, "instance "+i+"'s lines and container metrics at the ingress", func() (bool, string) {
			es := e.logs.envelopesOf(g)
			got := logLines(es)
			for _, w := range want {
				if !slices.Contains(got, w) {
					return false, fmt.Sprintf("no %+v among %+v", w, got)
				}
			}
			for _, en := range es {
				if en.Tags["app_id"] != "app-"+g || en.Tags["instance_id"] != en.InstanceId {
					t.Fatalf("envelope without the metric_tags: %v", en)
				}
				if en.InstanceId == i && en.Tags["process_instance_id"] != l.InstanceGuid {
					t.Fatalf("instance %s's envelope tagged process_instance_id %q, want %s", i, en.Tags["process_instance_id"], l.InstanceGuid)
				}
				if m := en.GetGauge().GetMetrics(); en.InstanceId == i && m != nil {
					if m["cpu"].GetUnit() != "percentage" || m["memory"].GetUnit() != "bytes" || m["memory_quota"].GetValue() != 64*1024*1024 || m["disk_quota"].GetUnit() != "bytes" {
						t.Fatalf("container metrics of instance %s: %v", i, m)
					}
					return true, ""
				}
			}
			return false, "no container metrics gauge of instance " + i + " yet (sent every 15 s)"
		})
	}

	if e.cluster != nil { // the local log files (diego logs) keep the same lines
		tg, err := e.target()
		if err != nil {
			t.Fatal(err)
		}
		l := lrps[0]
		out := e.cli(t, "--log-dir", tg.LogDir, "logs", g, "--index", "0")
		for _, w := range []string{"out-0\n", "err-0\n", fmt.Sprintf("Cell %s successfully created container for instance %s\n", l.CellId, l.InstanceGuid)} {
			if !strings.Contains(out, w) {
				t.Errorf("diego logs %s --index 0 lacks %q:\n%s", g, w, out)
			}
		}
	}

	if err := e.client.RemoveDesiredLRP(e.logger, "", g); err != nil {
		t.Fatalf("removing %s: %v", g, err)
	}
	for _, l := range lrps {
		i := strconv.Itoa(int(l.Index))
		var want []logLine
		for _, f := range []string{"Cell %s stopping instance %s", "Cell %s destroying container for instance %s", "Cell %s successfully destroyed container for instance %s"} {
			want = append(want, logLine{i, "CELL", fmt.Sprintf(f, l.CellId, l.InstanceGuid), false})
		}
		testutil.Eventually(t, time.Minute, "instance "+i+"'s stop messages at the ingress", func() (bool, string) {
			got := logLines(e.logs.envelopesOf(g))
			for _, w := range want {
				if !slices.Contains(got, w) {
					return false, fmt.Sprintf("no %+v among %+v", w, got)
				}
			}
			return true, ""
		})
	}
}

func (e *env) testTaskLogs(t *testing.T, domain string) {
	source := guid(t, "logs-task-source")
	def := e.taskDef("echo task-out; echo task-err >&2", "")
	def.LogGuid, def.LogSource = source, "APP/TASK/acceptance"
	def.MetricTags = map[string]*models.MetricTagValue{"source_id": {Static: source}, "app_id": {Static: "app-" + source}}
	g := e.desireTask(t, domain, def)
	if task := e.waitTask(t, g, models.Task_Completed, 2*time.Minute); task.Failed {
		t.Fatalf("task failed: %s%s", task.FailureReason, e.taskLog(g))
	}
	want := []logLine{
		{"0", "APP/TASK/acceptance", "task-out", false},
		{"0", "APP/TASK/acceptance", "task-err", true},
	}
	testutil.Eventually(t, time.Minute, "the task's lines at the ingress", func() (bool, string) {
		es := e.logs.envelopesOf(source)
		got := logLines(es)
		for _, w := range want {
			if !slices.Contains(got, w) {
				return false, fmt.Sprintf("no %+v among %+v", w, got)
			}
		}
		for _, en := range es {
			if en.Tags["app_id"] != "app-"+source {
				t.Fatalf("envelope without the metric_tags: %v", en)
			}
		}
		return true, ""
	})
}
