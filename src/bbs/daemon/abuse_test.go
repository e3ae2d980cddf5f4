package daemon_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
	"github.com/gogo/protobuf/proto"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/internal/serve/abusetest"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/pki"
)

// TestStandsUpToAbuse: the API refuses clients without a certificate from
// its CA, cuts slow clients, refuses oversized headers (431) and bodies (an
// InvalidRequest error) and serves at most max_connections at once, and so
// does the health server, while a well-behaved client is served.
func TestStandsUpToAbuse(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t), Configure: func(c *config.Config) {
		c.ServerLimits = abusetest.Limits
		c.MaxRequestBodyBytes = 4096
	}})
	client, err := pki.ClientTLSConfig(h.Certs.CACert, h.Certs.ClientCert, h.Certs.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	refused := func(_ int, body []byte) error {
		var resp models.ActualLRPsResponse
		if err := proto.Unmarshal(body, &resp); err != nil {
			return fmt.Errorf("answer is not an ActualLRPsResponse: %w", err)
		}
		if resp.Error == nil || resp.Error.Type != models.Error_InvalidRequest || !strings.Contains(resp.Error.Message, "max_request_body_bytes") {
			return fmt.Errorf("answered %v, want an InvalidRequest error naming max_request_body_bytes", resp.Error)
		}
		return nil
	}
	t.Run("api", func(t *testing.T) {
		abusetest.Run(t, abusetest.Target{Addr: h.Daemon.Addr(), TLS: client,
			Good: abusetest.Request{Method: "POST", Path: "/v1/ping"},
			Body: abusetest.Request{Method: "POST", Path: "/v1/actual_lrps/list", Check: refused},
		}, abusetest.Options{ClientCerts: true, BodyBytes: 8192})
	})
	t.Run("health", func(t *testing.T) {
		abusetest.Run(t, abusetest.Target{Addr: h.Daemon.HealthAddr(), Good: abusetest.Request{Method: "GET", Path: "/ping"}}, abusetest.Options{})
	})
}

// TestEventStreamsOutliveTheWriteTimeout: an event stream is exempt from
// write_timeout (and read_timeout): it still delivers an event after both
// have passed.
func TestEventStreamsOutliveTheWriteTimeout(t *testing.T) {
	limits := abusetest.Limits
	limits.WriteTimeout = jsonconfig.Duration(2 * time.Second)
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t), Configure: func(c *config.Config) { c.ServerLimits = limits }})
	log := lager.NewLogger("abuse")
	es, err := h.Client.SubscribeToTaskEvents(log)
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	time.Sleep(3 * time.Second) // past write_timeout and read_timeout
	def := &models.TaskDefinition{RootFs: "preloaded:cflinuxfs4", MemoryMb: 1, DiskMb: 1,
		Action: models.WrapAction(&models.RunAction{Path: "/bin/true", User: "vcap"})}
	if err := h.Client.DesireTask(log, "", "late-task", "d", def); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		for {
			e, err := es.Next()
			if err != nil {
				got <- fmt.Errorf("the stream ended: %w", err)
				return
			}
			if c, ok := e.(*models.TaskCreatedEvent); ok && c.Task.TaskGuid == "late-task" {
				got <- nil
				return
			}
		}
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(abusetest.Deadline):
		t.Fatal("no event for the task")
	}
}
