package rotate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/rotate"
)

// TestCLIRotateEncryptionKey runs `diego rotate-encryption-key` with AppRole
// login to a TLS Vault stand-in, then checks the error path (wrong secret_id).
func TestCLIRotateEncryptionKey(t *testing.T) {
	e := newEnv(t, "sqlite", testdb.SQLite(t), true)
	e.populate(20, 50, 10)
	b := e.startBBS()
	role, sec := e.vault.AddAppRole()
	secFile := filepath.Join(t.TempDir(), "secret-id")
	os.WriteFile(secFile, []byte(sec+"\n"), 0o600)
	args := []string{"rotate-encryption-key", "--bbs-admin-url", b.URL,
		"--admin-cert", e.certs.AdminCert, "--admin-key", e.certs.AdminKey, "--ca-cert", e.certs.CACert,
		"--vault-addr", e.vault.URL, "--vault-ca-cert", e.vault.CACertFile, "--vault-role-id", role,
		"--vault-path", vaultPath, "--new-key-label", "k2"}
	var res rotate.Result
	out, errOut := runDiegoResult(t, &res, append(args, "--vault-secret-id-file", secFile)...)
	if res.ActiveLabel != "k2" || len(res.RemovedLabels) != 1 {
		t.Fatalf("summary %q: %+v", out, res)
	}
	if !strings.Contains(errOut, "step 8/8 finish: done") || !strings.Contains(errOut, "re-encryption complete") {
		t.Fatalf("progress on stderr:\n%s", errOut)
	}
	checkConverged(t, e, b, "k1")

	writes := e.vault.Writes()
	_, errOut, code := runDiego(t, append(args[:len(args)-1], "k3", "--vault-secret-id", "wrong")...)
	if code != 1 || !strings.Contains(errOut, "invalid role or secret ID") || !strings.Contains(errOut, "nothing changed") {
		t.Fatalf("wrong secret_id: exit %d\n%s", code, errOut)
	}
	if e.vault.Writes() != writes {
		t.Fatal("Vault was written")
	}
}
