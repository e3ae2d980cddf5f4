package failover_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/pki"
)

var logger = lager.NewLogger("failover")

type bbsProc struct {
	name               string
	api, health, lockt string
	cmd                *exec.Cmd
}

func (p *bbsProc) leading() bool {
	resp, err := http.Get("http://" + p.health + "/leader")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func TestLeaderKilledStandbyTakesOver(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bbs binary and waits out a lock TTL; run without -short")
	}
	dir := t.TempDir()
	bin := bbstest.BuildBinary(t, dir)
	certs, err := pki.GenerateLocal(filepath.Join(dir, "certs"), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	dsn := testdb.Postgres(t)

	start := func(name string) *bbsProc {
		p := &bbsProc{name: name, api: testutil.FreeAddr(t), health: testutil.FreeAddr(t), lockt: testutil.FreeAddr(t)}
		cfg := config.DefaultConfig()
		cfg.ListenAddress, cfg.HealthAddress, cfg.LocketListenAddress = p.api, p.health, p.lockt
		cfg.CAFile, cfg.CertFile, cfg.KeyFile = certs.CACert, certs.ServerCert, certs.ServerKey
		cfg.DatabaseDriver, cfg.DatabaseConnectionString = "postgres", dsn
		cfg.EncryptionKeys, cfg.ActiveKeyLabel = map[string]string{"k": "failover-key"}, "k"
		cfg.LockOwner, cfg.LogLevel = name, "info"
		path := filepath.Join(dir, name+".json")
		bbstest.WriteConfig(t, path, cfg)
		logf, _ := os.Create(filepath.Join(dir, name+".log"))
		p.cmd = exec.Command(bin, "-config", path)
		p.cmd.Stdout, p.cmd.Stderr = logf, logf
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			_ = p.cmd.Wait()
			if t.Failed() {
				out, _ := os.ReadFile(filepath.Join(dir, name+".log"))
				t.Logf("%s log:\n%s", name, out)
			}
		})
		return p
	}
	client := func(p *bbsProc) bbs.InternalClient {
		c, err := bbs.NewClientWithConfig(bbs.ClientConfig{URL: "https://" + p.api, IsTLS: true, CAFile: certs.CACert,
			CertFile: certs.ClientCert, KeyFile: certs.ClientKey, Retries: 1, RequestTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	waitLeading := func(p *bbsProc, within time.Duration) time.Duration {
		t0 := time.Now()
		testutil.WaitFor(t, within, p.name+" leading", p.leading)
		return time.Since(t0)
	}

	a := start("bbs-a")
	waitLeading(a, 15*time.Second)
	b := start("bbs-b")
	time.Sleep(2 * time.Second)
	if b.leading() {
		t.Fatal("both BBSs lead")
	}
	if conn, err := net.DialTimeout("tcp", b.api, time.Second); err == nil {
		conn.Close()
		t.Fatal("the standby accepts API connections")
	}

	// Write continuously to whichever BBS serves; remember what was acknowledged.
	clients := []bbs.InternalClient{client(a), client(b)}
	var acked sync.Map
	var n, ackedN atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		last := 0
		for {
			select {
			case <-stop:
				return
			default:
			}
			guid := fmt.Sprintf("lrp-%05d", n.Add(1))
			d := &models.DesiredLRP{ProcessGuid: guid, Domain: "failover", RootFs: "preloaded:x", Instances: 1,
				Action:     models.WrapAction(&models.RunAction{Path: "/bin/app", User: "vcap"}),
				MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: guid}}}
			for try := 0; try < len(clients); try++ {
				c := clients[(last+try)%len(clients)]
				if err := c.DesireLRP(logger, "", d); err == nil {
					acked.Store(guid, true)
					ackedN.Add(1)
					last = (last + try) % len(clients)
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	time.Sleep(time.Second)

	killed := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	took := waitLeading(b, 20*time.Second)
	t.Logf("standby serving %v after the leader was killed (lock ttl 15s)", took.Round(10*time.Millisecond))
	before := ackedN.Load()
	deadline := time.Now().Add(10 * time.Second)
	for ackedN.Load() < before+20 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if ackedN.Load() < before+20 {
		t.Fatalf("the new leader did not take writes: %d acknowledged before, %d after", before, ackedN.Load())
	}
	if since := time.Since(killed); took > 20*time.Second {
		t.Fatalf("takeover took %v", since)
	}

	stored, err := clients[1].DesiredLRPs(logger, "", models.DesiredLRPFilter{Domain: "failover"})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, d := range stored {
		have[d.ProcessGuid] = true
	}
	lost := 0
	acked.Range(func(k, _ any) bool {
		if !have[k.(string)] {
			lost++
			t.Errorf("acknowledged write %s lost", k)
		}
		return true
	})
	t.Logf("%d writes acknowledged, %d stored, %d lost", ackedN.Load(), len(stored), lost)
}
