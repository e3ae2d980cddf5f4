package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/target"
)

var binDir string

func TestMain(m *testing.M) {
	testutil.MainWithBinaries(m, &binDir,
		testutil.Build{Pkgs: []string{"../cmd/bbs", "../cmd/locket", "../cmd/auctioneer", "../cmd/rep", "../cmd/file-server", "../cmd/ssh-proxy", "../cmd/route-emitter", "../cmd/hub"}},
		// static, as it runs in a busybox rootfs on runc
		testutil.Build{Pkgs: []string{"../cmd/sample-app", "../cmd/diego-sshd"}, Env: []string{"CGO_ENABLED=0"}})
}

type running struct {
	c      *Cluster
	cancel context.CancelFunc
	done   chan struct{}
	out    *testutil.SyncBuffer
}

func (r *running) stop() {
	r.cancel()
	<-r.done
}

func up(tb testing.TB, dir string, cells, portBase int) *running {
	tb.Helper()
	return upWith(tb, Options{Dir: dir, Cells: cells, PortBase: portBase})
}

// upWith starts a cluster with opts (BinDir and Out filled in) and stops
// it when the test ends.
func upWith(tb testing.TB, opts Options) *running {
	tb.Helper()
	out := &testutil.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	opts.BinDir, opts.Out = binDir, out
	c, err := Up(ctx, opts)
	if err != nil {
		cancel()
		tb.Fatalf("up: %v\n%s", err, out)
	}
	r := &running{c: c, cancel: cancel, done: make(chan struct{}), out: out}
	go func() {
		c.Run(ctx)
		close(r.done)
	}()
	tb.Cleanup(r.stop)
	return r
}

func clientFor(tb testing.TB, t target.File) bbs.Client {
	cl, err := bbs.NewClient(t.BBSURL, t.CACert, t.ClientCert, t.ClientKey, 0, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return cl
}

var eventually = testutil.Eventually

func sampleApp(pg string, instances int32) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: pg, Domain: "cluster-test", RootFs: "preloaded:" + RootFSName, Instances: instances,
		MemoryMb: 32, DiskMb: 32, Ports: []uint32{8080}, LogGuid: pg,
		MetricTags:           map[string]*models.MetricTagValue{"source_id": {Static: pg}},
		EnvironmentVariables: []*models.EnvironmentVariable{{Name: "PORT", Value: "8080"}},
		Action:               models.WrapAction(&models.RunAction{Path: filepath.Join(binDir, "sample-app"), User: "vcap"}),
		CheckDefinition:      &models.CheckDefinition{Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}}},
		StartTimeoutMs:       60000,
	}
}

// answering returns how many of pg's instances are RUNNING and answer
// HTTP with their own index.
func answering(cl bbs.Client, pg string) (int, string) {
	lrps, err := cl.ActualLRPs(lager.NewLogger("t"), "", models.ActualLRPFilter{ProcessGuid: pg})
	if err != nil {
		return 0, err.Error()
	}
	n := 0
	var last string
	for _, l := range lrps {
		if l.State != models.ActualLRPStateRunning || len(l.Ports) == 0 {
			continue
		}
		resp, err := http.Get(fmt.Sprintf("http://%s:%d/", l.Address, l.Ports[0].HostPort))
		if err != nil {
			last = err.Error()
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.HasPrefix(string(body), "hello from "+strconv.Itoa(int(l.Index))+" ") {
			n++
		} else {
			last = string(body)
		}
	}
	return n, fmt.Sprintf("%d of %d answering; last: %s", n, len(lrps), last)
}
