package interop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/bbs/reencrypt"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/locket/record"
)

const secret = "TOP-SECRET-7f3a9c-PLAINTEXT"

func TestEncryptionRotationSQLite(t *testing.T)   { rotateAndProve(t, "sqlite", testdb.SQLite(t)) }
func TestEncryptionRotationPostgres(t *testing.T) { rotateAndProve(t, "postgres", testdb.Postgres(t)) }
func TestEncryptionRotationMySQL(t *testing.T)    { rotateAndProve(t, "mysql", testdb.MySQL(t)) }

func rotateAndProve(t *testing.T, driver, dsn string) {
	dump := func(t *testing.T) []byte {
		t.Helper()
		b := testdb.Dump(t, driver, dsn)
		if !bytes.Contains(b, []byte("actual_lrps")) {
			t.Fatalf("the %s dump has no actual_lrps table", driver)
		}
		return b
	}
	dir := t.TempDir()
	h := bbstest.Start(t, bbstest.Options{Driver: driver, DSN: dsn, Dir: dir,
		Keys: map[string]string{"old": "old-passphrase"}, ActiveKey: "old"})
	writeSecrets(t, h)
	if b := dump(t); !bytes.Contains(b, []byte("old")) {
		t.Fatal("dump does not show the old key label; is the dump real?")
	}

	admin := mtlsClient(t, h.Certs, true)
	setKeys := func(keys map[string]string, active string) {
		cfg := h.Config
		cfg.EncryptionKeys, cfg.ActiveKeyLabel = keys, active
		bbstest.WriteConfig(t, h.ConfigPath, cfg)
	}

	// Add the new key, still inactive: dropping the old one now must be refused.
	setKeys(map[string]string{"old": "old-passphrase", "new": "new-passphrase"}, "old")
	adminCall(t, admin, h.URL+"/v1/admin/encryption/reload", http.StatusOK)
	setKeys(map[string]string{"new": "new-passphrase"}, "new")
	body := adminCall(t, admin, h.URL+"/v1/admin/encryption/reload", http.StatusConflict)
	if !strings.Contains(body, `refusing to drop key \"old\"`) {
		t.Fatalf("refusal does not name the key: %s", body)
	}

	// Make the new key active: the BBS re-encrypts online.
	setKeys(map[string]string{"old": "old-passphrase", "new": "new-passphrase"}, "new")
	adminCall(t, admin, h.URL+"/v1/admin/encryption/reload", http.StatusOK)
	var st reencrypt.Status
	testutil.Eventually(t, 30*time.Second, "re-encryption to finish", func() (bool, string) {
		if err := json.Unmarshal([]byte(adminCall(t, admin, h.URL+"/v1/admin/encryption/status", http.StatusOK)), &st); err != nil {
			t.Fatal(err)
		}
		return !st.Running && st.PendingRows == 0, fmt.Sprintf("%+v", st)
	})
	if st.LastError != "" || st.ActiveLabel != "new" {
		t.Fatalf("status = %+v", st)
	}
	for _, cnt := range st.Counts {
		if cnt.Label != "new" && cnt.Rows > 0 {
			t.Fatalf("rows left under %q in %s", cnt.Label, cnt.Table)
		}
	}

	// Remove the old key: now allowed.
	setKeys(map[string]string{"new": "new-passphrase"}, "new")
	adminCall(t, admin, h.URL+"/v1/admin/encryption/reload", http.StatusOK)

	readSecrets(t, h)
	h.Stop(t)

	raw := dump(t)
	if bytes.Contains(raw, []byte(secret)) {
		t.Fatalf("the %s dump contains the plaintext secret", driver)
	}

	// A restart with only the new key works; a restart with a key ring that
	// lacks the label in use is a clear fatal error.
	h2 := bbstest.Start(t, bbstest.Options{Driver: driver, DSN: dsn, Dir: dir,
		Keys: map[string]string{"new": "new-passphrase"}, ActiveKey: "new"})
	readSecrets(t, h2)
	h2.Stop(t)
	_, err := bbstest.TryStart(t, bbstest.Options{Driver: driver, DSN: dsn, Dir: dir,
		Keys: map[string]string{"other": "x"}, ActiveKey: "other"})
	if err == nil || !strings.Contains(err.Error(), `"new"`) {
		t.Fatalf("start with an unknown stored label: err = %v", err)
	}

	// Start-up re-encryption: a new active key re-seals everything before serving.
	h3 := bbstest.Start(t, bbstest.Options{Driver: driver, DSN: dsn, Dir: dir,
		Keys: map[string]string{"new": "new-passphrase", "newer": "newer-passphrase"}, ActiveKey: "newer"})
	if err := json.Unmarshal([]byte(adminCall(t, mtlsClient(t, h3.Certs, true),
		h3.URL+"/v1/admin/encryption/status", http.StatusOK)), &st); err != nil {
		t.Fatal(err)
	}
	if st.PendingRows != 0 {
		t.Fatalf("after start-up with a new active key: %+v", st)
	}
	readSecrets(t, h3)
}

// writeSecrets stores the secret in every encrypted column: desired LRP run
// info and scheduling info (routes), actual LRP (metric tags, internal
// routes), tasks (definition and result).
func writeSecrets(t *testing.T, h *bbstest.Harness) {
	c := h.Client
	// the cell the instance runs on is alive, so convergence leaves it be
	v, _ := json.Marshal(models.NewCellPresence("cell", "https://cell:1801", "https://cell:1801", "z1",
		models.NewCellCapacity(1024, 1024, 10), nil, nil, nil, nil))
	if _, err := h.Daemon.Store().AcquireLock(context.Background(), record.Lock{Key: "cell", Owner: "cell", Value: string(v), Type: "presence", TTLSeconds: 3600}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"sec-1", "sec-2"} {
		d := desiredLRP(g, "sec", 2, secret)
		raw := json.RawMessage(`[{"hostnames":["` + strings.ToLower(secret) + `.example.com"],"port":8080}]`)
		d.Routes = &models.Routes{"cf-router": &raw}
		must(t, c.DesireLRP(logger, "", d))
	}
	key := models.NewActualLRPKey("sec-1", 0, "sec")
	ik := models.NewActualLRPInstanceKey("ig", "cell")
	net := models.NewActualLRPNetInfo("10.0.0.1", "", models.ActualLRPNetInfo_PreferredAddressHost)
	must(t, c.ClaimActualLRP(logger, "", &key, &ik))
	must(t, c.StartActualLRP(logger, "", &key, &ik, &net,
		[]*models.ActualLRPInternalRoute{{Hostname: secret + ".internal"}}, map[string]string{"tag": secret}, true, ""))
	must(t, c.DesireTask(logger, "", "sec-task", "sec", taskDef(secret)))
	must(t, c.DesireTask(logger, "", "sec-task-2", "sec", taskDef(secret)))
	_, err := c.StartTask(logger, "", "sec-task-2", "cell")
	must(t, err)
	must(t, c.CompleteTask(logger, "", "sec-task-2", "cell", false, "", "result: "+secret))
}

func readSecrets(t *testing.T, h *bbstest.Harness) {
	c := h.Client
	ds, err := c.DesiredLRPs(logger, "", models.DesiredLRPFilter{Domain: "sec"})
	must(t, err)
	if len(ds) != 2 || ds[0].EnvironmentVariables[0].Value != secret {
		t.Fatalf("desired LRPs after rotation: %d", len(ds))
	}
	infos, err := c.DesiredLRPSchedulingInfos(logger, "", models.DesiredLRPFilter{Domain: "sec"})
	must(t, err)
	if len(infos) != 2 || !strings.Contains(string(*infos[0].Routes["cf-router"]), strings.ToLower(secret)) {
		t.Fatalf("scheduling infos after rotation: %+v", infos)
	}
	l := ordinary(t, c, "sec-1", 0)
	if l.MetricTags["tag"] != secret || l.ActualLrpInternalRoutes[0].Hostname != secret+".internal" {
		t.Fatalf("actual LRP after rotation: %+v", l)
	}
	all, err := c.ActualLRPs(logger, "", models.ActualLRPFilter{Domain: "sec"})
	must(t, err)
	if len(all) != 4 {
		t.Fatalf("actual LRPs after rotation: %d", len(all))
	}
	task, err := c.TaskByGuid(logger, "", "sec-task-2")
	must(t, err)
	if task.Result != "result: "+secret || !strings.Contains(task.Action.RunAction.Args[1], secret) {
		t.Fatalf("task after rotation: %+v", task)
	}
}
