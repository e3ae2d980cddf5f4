package rotate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/reencrypt"
	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/sqlstore"
	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/locket/sqllock"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rotate"
)

// The Vault in these tests is src/internal/vaulttest, a stand-in that follows
// Vault's documented KV v2 HTTP API, driven only through the real
// github.com/hashicorp/vault/api client (no Vault server can be installed here).

func TestRotateHappyPathSQLite(t *testing.T) {
	dsn := testdb.SQLite(t)
	happyPath(t, "sqlite", dsn, func() []byte { return testdb.Dump(t, "sqlite", dsn) })
}

func TestRotateHappyPathPostgres(t *testing.T) {
	dsn := testdb.Postgres(t)
	happyPath(t, "postgres", dsn, func() []byte {
		out := testdb.Dump(t, "postgres", dsn)
		if !bytes.Contains(out, []byte("actual_lrps")) {
			t.Fatal("pg_dump output has no actual_lrps table")
		}
		return out
	})
}

func happyPath(t *testing.T, driver, dsn string, dump func() []byte) {
	e := newEnv(t, driver, dsn, true) // Vault over TLS with its own CA
	e.populate(200, 500, 100)
	b1 := e.startBBS()
	b2 := e.startBBS()                  // a second serving BBS on the same database
	standby := "https://" + freeAddr(t) // nothing listens: a standby's closed API port
	if raw := dump(); !bytes.Contains(raw, []byte("k1")) {
		t.Fatal("the dump does not show the old key label; is the dump real?")
	}
	var steps []rotate.Step
	cfg := e.rotateConfig(b1.URL, standby, b2.URL)
	cfg.AfterStep = func(s rotate.Step) error { steps = append(steps, s); return nil }
	res, err := rotate.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != len(rotate.Steps) || res.Resumed || len(res.RemovedLabels) != 1 || res.RemovedLabels[0] != "k1" {
		t.Fatalf("steps %v result %+v", steps, res)
	}
	if len(res.BBSReached) != 2 {
		t.Fatalf("reached %v", res.BBSReached)
	}
	active := checkConverged(t, e, b1, "k1")
	checkConverged(t, e, b2, "k1")
	if res.ActiveLabel != active || res.RowsReencrypted < 800 {
		t.Fatalf("result %+v", res)
	}
	if pass := e.doc().Keys[active]; len(pass) != 44 { // base64 of 32 random bytes
		t.Fatalf("new key passphrase %q is not 256 random bits in base64", pass)
	}
	if d, a, ts := readAll(t, b1); d != 200 || a != 500 || ts != 100 {
		t.Fatalf("read back %d desired, %d actual, %d tasks", d, a, ts)
	}
	b1.stop()
	b2.stop()
	if raw := dump(); bytes.Contains(raw, []byte(secret)) || bytes.Contains(raw, []byte(strings.ToLower(secret))) {
		t.Fatalf("the %s dump contains the plaintext secret", driver)
	}
	// A restart reads only the new key from Vault and opens every row.
	b3 := e.startBBS()
	readAll(t, b3)

	// A second rotation from there works too.
	if _, err := rotate.Run(context.Background(), e.rotateConfig(b3.URL)); err != nil {
		t.Fatal(err)
	}
	checkConverged(t, e, b3, active)
}

var errKilled = errors.New("killed")

// TestRotateKilledAfterEveryStep kills the run after each step in turn and
// runs it again: it must converge, never adding a second key.
func TestRotateKilledAfterEveryStep(t *testing.T) {
	e := newEnv(t, "sqlite", testdb.SQLite(t), false)
	e.populate(100, 250, 50)
	b := e.startBBS()
	prev := "k1"
	for _, step := range rotate.Steps {
		t.Run(step.String(), func(t *testing.T) {
			cfg := e.rotateConfig(b.URL)
			cfg.AfterStep = func(s rotate.Step) error {
				if s == step {
					return errKilled
				}
				return nil
			}
			if _, err := rotate.Run(context.Background(), cfg); !errors.Is(err, errKilled) {
				t.Fatalf("run killed after %s: err = %v", step, err)
			}
			// Killed: every record still opens, and the BBS holds every key
			// that Vault does not yet consider gone.
			readAll(t, b)
			d := e.doc()
			_, labels, per := b.status()
			for l, n := range per {
				if n > 0 && !strings.Contains(strings.Join(labels, ","), l) {
					t.Fatalf("rows under %q which the BBS does not hold (%v)", l, labels)
				}
			}
			want := d.RotatingTo
			if step == rotate.StepFinish {
				want = d.ActiveKeyLabel
			}
			res, err := rotate.Run(context.Background(), e.rotateConfig(b.URL))
			if err != nil {
				t.Fatalf("re-run after a kill at %s: %v", step, err)
			}
			if step == rotate.StepFinish {
				// the killed run had finished: the re-run is a new rotation
				want = res.ActiveLabel
			} else if !res.Resumed || res.ActiveLabel != want {
				t.Fatalf("re-run after a kill at %s rotated to %q (resumed %v), want the interrupted rotation's %q", step, res.ActiveLabel, res.Resumed, want)
			}
			prev = checkConverged(t, e, b, prev)
			if d, a, ts := readAll(t, b); d != 100 || a != 250 || ts != 50 {
				t.Fatalf("read back %d %d %d", d, a, ts)
			}
		})
	}
}

// TestRotateSurvivesBBSRestart restarts the BBS while it re-encrypts.
func TestRotateSurvivesBBSRestart(t *testing.T) {
	e := newEnv(t, "sqlite", testdb.SQLite(t), false)
	e.populate(4000, 10000, 2000)
	b := e.startBBS()
	cfg := e.rotateConfig(b.URL)
	restarted := make(chan struct{})
	cfg.AfterStep = func(s rotate.Step) error {
		if s == rotate.StepReloadActive {
			_, _, per := b.status()
			t.Logf("restarting the BBS with rows per label %v", per)
			go func() { defer close(restarted); b.restart() }()
		}
		return nil
	}
	res, err := rotate.Run(context.Background(), cfg)
	<-restarted
	if err != nil {
		t.Fatal(err)
	}
	checkReadBack(t, e, b, res, 4000, 10000, 2000)
}

// TestRotateVaultFailuresChangeNothing: a wrong token or Vault down fails
// with a clear error before anything changes, in the tool and in the BBS.
func TestRotateVaultFailuresChangeNothing(t *testing.T) {
	e := newEnv(t, "sqlite", testdb.SQLite(t), false)
	e.populate(10, 20, 5)
	b := e.startBBS()
	writes := e.vault.Writes()

	wrong := e.rotateConfigToken("hvs.not-a-token", b.URL)
	_, err := rotate.Run(context.Background(), wrong)
	if err == nil || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), "nothing changed") {
		t.Fatalf("wrong token: %v", err)
	}
	e.vault.Down()
	_, err = rotate.Run(context.Background(), e.rotateConfig(b.URL))
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "nothing changed") {
		t.Fatalf("Vault down: %v", err)
	}
	// The BBS refuses a reload it cannot read, and keeps its ring.
	hc := e.rotateConfig(b.URL).HTTPClient
	resp, err := hc.Post(b.URL+"/v1/admin/encryption/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body.String(), "connection refused") {
		t.Fatalf("reload with Vault down: %d %s", resp.StatusCode, body.String())
	}
	// A BBS cannot start without its keys, and says why.
	if _, err := e.tryStart(e.config("")); err == nil || !strings.Contains(err.Error(), "reading the encryption key ring") {
		t.Fatalf("start with Vault down: %v", err)
	}
	e.vault.Up(t)
	if _, err := e.tryStart(e.config("hvs.wrong")); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("start with a wrong token: %v", err)
	}
	if e.vault.Writes() != writes {
		t.Fatal("Vault was written")
	}
	active, labels, _ := b.status()
	if active != "k1" || len(labels) != 1 {
		t.Fatalf("BBS ring changed: %q %v", active, labels)
	}
	readAll(t, b)
	// And with Vault back, the rotation goes through.
	rotateAndCheck(t, e, b)
}

// TestRotateRefusesToRemoveAKeyInUse: rows sealed under the old key after
// re-encryption (a stale writer) stop the run before Vault loses the key.
func TestRotateRefusesToRemoveAKeyInUse(t *testing.T) {
	e := newEnv(t, "sqlite", testdb.SQLite(t), false)
	e.populate(10, 20, 5)
	b := e.startBBS()
	cfg := e.rotateConfig(b.URL)
	cfg.AfterStep = func(s rotate.Step) error {
		if s != rotate.StepReencrypt {
			return nil
		}
		// a stale writer: holds both keys but still seals with the old one
		ring, _ := keyring.NewRing(e.doc().Keys, "k1")
		st, err := sqlstore.Open(context.Background(), sqlstore.Config{Driver: e.driver, DSN: e.dsn}, ring, nil)
		if err == nil {
			err = st.Update(context.Background(), func(tx store.Tx) error {
				return tx.InsertTask(&models.Task{TaskGuid: "stale", Domain: "pop", State: models.Task_Pending, TaskDefinition: taskDef("x")})
			})
			st.Close()
		}
		return err
	}
	_, err := rotate.Run(context.Background(), cfg)
	if !errors.Is(err, rotate.ErrKeyInUse) || !strings.Contains(err.Error(), `refusing to remove key "k1"`) {
		t.Fatalf("err = %v", err)
	}
	if _, ok := e.doc().Keys["k1"]; !ok {
		t.Fatal("k1 was removed from Vault while a row used it")
	}
	// Re-run: the row is re-encrypted, then the key goes.
	rotateAndCheck(t, e, b)
}

// TestRotateWhileWriting: LRPs and tasks desired throughout the rotation are
// all kept and end up under the new key.
func TestRotateWhileWriting(t *testing.T) {
	e := newEnv(t, "sqlite", testdb.SQLite(t), false)
	e.populate(2000, 5000, 1000)
	b := e.startBBS()
	var n atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				g := fmt.Sprintf("live-%d-%d", w, i)
				var err error
				if i%2 == 0 {
					err = b.Client.DesireLRP(logger, "", desiredLRP(g, "live", 1, secret))
				} else {
					err = b.Client.DesireTask(logger, "", g, "live", taskDef(secret))
				}
				if err != nil {
					failures.Add(1)
					t.Errorf("write %s: %v", g, err)
					continue
				}
				n.Add(1)
			}
		}(w)
	}
	time.Sleep(100 * time.Millisecond)
	_, err := rotate.Run(context.Background(), e.rotateConfig(b.URL))
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	active := checkConverged(t, e, b, "k1")
	ds, err := b.Client.DesiredLRPs(logger, "", models.DesiredLRPFilter{Domain: "live"})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := b.Client.Tasks(logger, "")
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, task := range ts {
		if task.Domain == "live" {
			live++
		}
	}
	if int64(len(ds)+live) != n.Load() || failures.Load() != 0 {
		t.Fatalf("%d writes acknowledged, %d desired + %d tasks read back, %d failed", n.Load(), len(ds), live, failures.Load())
	}
	t.Logf("%d writes during the rotation, all under %q", n.Load(), active)
}

// TestRotateSurvivesBBSKilledDuringReencryption runs the BBS as a real
// process (cmd/bbs) and SIGKILLs it in the middle of re-encryption, then
// starts it again: the rotation waits for it and converges.
func TestRotateSurvivesBBSKilledDuringReencryption(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bbs binary")
	}
	e := newEnv(t, "sqlite", testdb.SQLite(t), false)
	e.populate(15000, 37500, 7500)
	bin := filepath.Join(t.TempDir(), "bbs")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/diego-go/diego/src/cmd/bbs").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfg := e.config("")
	cfg.LogLevel = "error"
	path := filepath.Join(t.TempDir(), "bbs.json")
	raw, _ := json.Marshal(cfg)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	url := "https://" + cfg.ListenAddress
	var mu sync.Mutex
	var proc *exec.Cmd
	start := func() {
		cmd := exec.Command(bin, "-config", path)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		proc = cmd
		mu.Unlock()
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if proc != nil {
			proc.Process.Kill()
			proc.Wait()
		}
	})
	start()
	rc := e.rotateConfig(url)
	hc := rc.HTTPClient
	status := func() (reencrypt.Status, error) {
		var st reencrypt.Status
		resp, err := hc.Get(url + "/v1/admin/encryption/status")
		if err != nil {
			return st, err
		}
		defer resp.Body.Close()
		return st, json.NewDecoder(resp.Body).Decode(&st)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, err := status(); err != nil; _, err = status() {
		if time.Now().After(deadline) {
			t.Fatalf("the bbs process did not serve: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var pendingAtKill int64
	rc.AfterStep = func(s rotate.Step) error {
		if s != rotate.StepReloadActive {
			return nil
		}
		for {
			st, err := status()
			if err != nil {
				return err
			}
			if st.RowsReencrypted > 0 && st.PendingRows > 0 {
				mu.Lock()
				proc.Process.Kill() // SIGKILL: no graceful stop
				proc.Wait()
				mu.Unlock()
				pendingAtKill = st.PendingRows
				t.Logf("killed the BBS with %d rows re-encrypted and %d pending", st.RowsReencrypted, st.PendingRows)
				go func() { time.Sleep(200 * time.Millisecond); start() }()
				return nil
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	res, err := rotate.Run(context.Background(), rc)
	if err != nil {
		t.Fatal(err)
	}
	if pendingAtKill == 0 {
		t.Fatal("the BBS was not killed during re-encryption")
	}
	mu.Lock()
	proc.Process.Signal(syscall.SIGTERM)
	proc.Wait()
	proc = nil
	mu.Unlock()
	b := e.startBBS()
	checkReadBack(t, e, b, res, 15000, 37500, 7500)
}

// rotateAndCheck runs a rotation on b and checks that it converged away
// from k1.
func rotateAndCheck(t *testing.T, e *env, b *bbsProc) {
	t.Helper()
	if _, err := rotate.Run(context.Background(), e.rotateConfig(b.URL)); err != nil {
		t.Fatal(err)
	}
	checkConverged(t, e, b, "k1")
}

// checkReadBack checks that the rotation away from k1 converged and b reads
// back every row.
func checkReadBack(t *testing.T, e *env, b *bbsProc, res rotate.Result, desired, actual, tasks int) {
	t.Helper()
	checkConverged(t, e, b, "k1")
	if d, a, ts := readAll(t, b); d != desired || a != actual || ts != tasks {
		t.Fatalf("read back %d %d %d", d, a, ts)
	}
	t.Logf("result %+v", res)
}

// TestStandbyReadsVaultOnTakingTheLock: a standby started before the
// rotation (holding only the old key) cannot be reloaded through the API;
// when it takes the lock it re-reads Vault, and serves every row.
func TestStandbyReadsVaultOnTakingTheLock(t *testing.T) {
	e := newEnv(t, "sqlite", testdb.SQLite(t), false)
	e.populate(50, 100, 20)
	locketAddr := startLocket(t, e)
	cfg := func(owner string) config.Config {
		c := e.config("")
		c.LocketAddress, c.LockOwner = locketAddr, owner
		c.LocketCAFile, c.LocketClientCertFile, c.LocketClientKeyFile = e.certs.CACert, e.certs.ClientCert, e.certs.ClientKey
		c.LockTTL, c.LockRetryInterval = config.Duration(2*time.Second), config.Duration(500*time.Millisecond)
		return c
	}
	a, err := e.tryStart(cfg("bbs-a"))
	if err != nil {
		t.Fatal(err)
	}
	waitLeading(t, a)
	b, err := e.tryStart(cfg("bbs-b"))
	if err != nil {
		t.Fatal(err)
	}
	if _, labels, _ := b.status(); len(labels) != 1 || labels[0] != "k1" {
		t.Fatalf("standby ring %v", labels)
	}
	res, err := rotate.Run(context.Background(), e.rotateConfig(a.URL, "https://"+b.cfg.ListenAddress))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.BBSReached) != 1 || res.BBSReached[0] != a.URL {
		t.Fatalf("reached %v (the standby serves nothing)", res.BBSReached)
	}
	if _, labels, _ := b.status(); len(labels) != 1 || labels[0] != "k1" {
		t.Fatalf("standby ring changed before it took the lock: %v", labels)
	}
	a.stop()
	waitLeading(t, b)
	active := checkConverged(t, e, b, "k1")
	if active != res.ActiveLabel {
		t.Fatalf("new leader active %q, rotation %q", active, res.ActiveLabel)
	}
	if d, ac, ts := readAll(t, b); d != 50 || ac != 100 || ts != 20 {
		t.Fatalf("new leader read back %d %d %d", d, ac, ts)
	}
}

func waitLeading(t *testing.T, b *bbsProc) {
	t.Helper()
	select {
	case <-b.d.Leading():
	case <-time.After(30 * time.Second):
		t.Fatal("the BBS did not take the lock")
	}
	b.URL = "https://" + b.d.Addr()
	c, err := bbs.NewClient(b.URL, b.e.certs.CACert, b.e.certs.ClientCert, b.e.certs.ClientKey, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	b.Client = c
}

// startLocket serves a standalone Locket (its own SQLite database).
func startLocket(t *testing.T, e *env) string {
	ctx := context.Background()
	st, err := sqllock.Open(ctx, sqldb.Config{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "locket.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := locket.New(ctx, locket.Config{Store: st, ScanInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := pki.ServerTLSConfig(e.certs.CACert, e.certs.ServerCert, e.certs.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := locket.NewGRPCServer(svc, tlsCfg)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Stop(); svc.Close(); st.Close() })
	return ln.Addr().String()
}
