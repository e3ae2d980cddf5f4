package interop_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/pki"
)

// refusedPing fails t when c, holding a client certificate the BBS must
// not accept (what), gets through the TLS handshake.
func refusedPing(t *testing.T, c *http.Client, url, what string) {
	t.Helper()
	resp, err := c.Post(url+"/v1/ping", "application/x-protobuf", nil)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("request %s succeeded", what)
	}
}

func TestBadRequests(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t)})
	c := mtlsClient(t, h.Certs, false)

	cases := []struct {
		name, path string
		body       []byte
		want       string
	}{
		{"garbage body", "/v1/actual_lrps/claim", []byte{0xff, 0xff, 0xff, 0x01}, "not a valid models.ClaimActualLRPRequest"},
		{"empty claim", "/v1/actual_lrps/claim", nil, "invalid models.ClaimActualLRPRequest"},
		{"desire without lrp", "/v1/desired_lrp/desire.r2", nil, "invalid models.DesireLRPRequest"},
		{"task without guid", "/v1/tasks/desire.r2", mustMarshal(t, &models.DesireTaskRequest{Domain: "d", TaskDefinition: taskDef("x")}), "task_guid"},
		{"oversized", "/v1/tasks/desire.r2", bytes.Repeat([]byte{0x0a}, 11<<20), "exceeds the limit"},
		{"truncated list filter", "/v1/actual_lrps/list", []byte{0x0a, 0x10, 'a'}, "not a valid models.ActualLRPsRequest"},
		// found by fuzzing: each panicked (recovered as UnknownError) or was
		// stored and then broke every listing
		{"update without update", "/v1/desired_lrp/update", mustMarshal(t, &models.UpdateDesiredLRPRequest{ProcessGuid: "some-lrp"}), "update"},
		{"nil metric tag", "/v1/desired_lrp/desire.r2", mustMarshal(t, &models.DesireLRPRequest{DesiredLrp: withNilMetricTag(desiredLRP("nil-tag", "d", 1, "s"))}), "metric_tags"},
		{"nil metric tag in an update", "/v1/desired_lrp/update", mustMarshal(t, &models.UpdateDesiredLRPRequest{ProcessGuid: "some-lrp",
			Update: &models.DesiredLRPUpdate{MetricTags: map[string]*models.MetricTagValue{"x": nil}}}), "metric_tags"},
		{"routes not JSON", "/v1/desired_lrp/desire.r2", mustMarshal(t, &models.DesireLRPRequest{DesiredLrp: withRoute(desiredLRP("bad-route", "d", 1, "s"), "{not json")}), "routes"},
		{"routes not JSON in an update", "/v1/desired_lrp/update", mustMarshal(t, &models.UpdateDesiredLRPRequest{ProcessGuid: "some-lrp",
			Update: &models.DesiredLRPUpdate{Routes: routesOf("[1,")}}), "routes"},
		{"process guid too long", "/v1/desired_lrp/desire.r2", mustMarshal(t, &models.DesireLRPRequest{DesiredLrp: desiredLRP(strings.Repeat("g", 10<<10), "d", 1, "s")}), "process_guid"},
		{"task guid too long", "/v1/tasks/desire.r2", mustMarshal(t, &models.DesireTaskRequest{TaskGuid: strings.Repeat("t", 256), Domain: "d", TaskDefinition: taskDef("x")}), "task_guid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := call(t, c, http.MethodPost, h.URL+tc.path, tc.body)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-protobuf" {
				t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var out models.TaskLifecycleResponse // any response: error is field 1 in all of them
			if err := proto.Unmarshal(body, &out); err != nil {
				t.Fatalf("response is not protobuf: %v", err)
			}
			if out.Error == nil || out.Error.Type != models.Error_InvalidRequest || !strings.Contains(out.Error.Message, tc.want) {
				t.Fatalf("error = %+v, want InvalidRequest containing %q", out.Error, tc.want)
			}
		})
	}

	t.Run("server still healthy", func(t *testing.T) {
		if !h.Client.Ping(logger, "") {
			t.Fatal("ping failed after bad requests")
		}
	})
	t.Run("unknown route", func(t *testing.T) {
		resp, _ := call(t, c, http.MethodPost, h.URL+"/v1/nope", nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		resp, _ := call(t, c, http.MethodGet, h.URL+"/v1/ping", nil)
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("no client certificate is refused", func(t *testing.T) {
		pool, _ := pki.LoadCAPool(h.Certs.CACert)
		bare := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		refusedPing(t, bare, h.URL, "without a client certificate")
	})
	t.Run("certificate from another CA is refused", func(t *testing.T) {
		other, err := pki.GenerateLocal(t.TempDir(), []string{"127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		pool, _ := pki.LoadCAPool(h.Certs.CACert)
		cert, _ := tls.LoadX509KeyPair(other.ClientCert, other.ClientKey)
		foreign := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}}
		refusedPing(t, foreign, h.URL, "with a foreign client certificate")
	})
	t.Run("admin API needs the admin certificate", func(t *testing.T) {
		resp, _ := call(t, c, http.MethodGet, h.URL+"/v1/admin/encryption/status", nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("client cert got %d on admin API", resp.StatusCode)
		}
		admin := mtlsClient(t, h.Certs, true)
		resp, b := call(t, admin, http.MethodGet, h.URL+"/v1/admin/encryption/status", nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"active_label": "k1"`) {
			t.Fatalf("admin status %d: %s", resp.StatusCode, b)
		}
	})
	t.Run("metrics endpoint", func(t *testing.T) {
		want := []string{`bbs_requests_total{outcome="ok",route="/v1/ping"}`, `bbs_request_duration_seconds_bucket{route="/v1/actual_lrps/claim"`,
			"go_goroutines", "bbs_convergence_runs_total 1", "bbs_convergence_duration_seconds_count 1", `bbs_lrps{kind="missing"} 0`,
			`bbs_lrps{kind="suspect"} 0`, `bbs_lrps{kind="crashed"} 0`, `bbs_tasks{state="pending"} 0`, "bbs_is_leader 1"}
		testutil.Eventually(t, 5*time.Second, "every metric", func() (bool, string) {
			_, b := call(t, http.DefaultClient, http.MethodGet, "http://"+h.Daemon.HealthAddr()+"/metrics", nil)
			var missing []string
			for _, w := range want {
				if !strings.Contains(string(b), w) {
					missing = append(missing, w)
				}
			}
			return len(missing) == 0, fmt.Sprintf("metrics lack %q", missing)
		})
	})
	t.Run("health endpoint", func(t *testing.T) {
		resp, _ := call(t, http.DefaultClient, http.MethodGet, "http://"+h.Daemon.HealthAddr()+"/ping", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("health %d", resp.StatusCode)
		}
	})
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func withNilMetricTag(d *models.DesiredLRP) *models.DesiredLRP {
	if d.MetricTags == nil {
		d.MetricTags = map[string]*models.MetricTagValue{}
	}
	d.MetricTags["broken"] = nil
	return d
}

func routesOf(raw string) *models.Routes {
	m := json.RawMessage(raw)
	return &models.Routes{"cf-router": &m}
}

func withRoute(d *models.DesiredLRP, raw string) *models.DesiredLRP {
	d.Routes = routesOf(raw)
	return d
}
