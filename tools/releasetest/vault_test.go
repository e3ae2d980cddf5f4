package releasetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// The Vault side of the release: the bbs job with
// diego.bbs.encryption_key_source vault (ops-files/use-vault-encryption-keys.yml)
// and the rotate-encryption-key errand
// (ops-files/add-rotate-encryption-key-errand.yml). TestRenderTemplates
// renders both ops-files alone and together and runs the bbs binary's
// -check-config and `bash -n`; these tests check what the rendered files say.

// testVault holds the Vault variables of both ops-files, with a real CA
// certificate (the diego CLI parses it) and an address nothing listens on.
type testVault struct {
	Address        string
	CACert         string
	BBSRoleID      string
	BBSSecretID    string
	RotationRoleID string
	RotationSecret string
	varsFile       string
}

func newTestVault(t *testing.T) testVault {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // connections to it are refused
	v := testVault{
		Address:        "https://" + addr,
		CACert:         selfSignedCA(t),
		BBSRoleID:      "bbs-role-1d3c",
		BBSSecretID:    "bbs-secret-9f2e",
		RotationRoleID: "rotation-role-77aa",
		RotationSecret: "rotation-secret-c0de",
	}
	vars := map[string]string{
		"vault_address":            v.Address,
		"vault_ca_cert":            v.CACert,
		"vault_bbs_role_id":        v.BBSRoleID,
		"vault_bbs_secret_id":      v.BBSSecretID,
		"vault_rotation_role_id":   v.RotationRoleID,
		"vault_rotation_secret_id": v.RotationSecret,
	}
	b, err := yaml.Marshal(vars)
	if err != nil {
		t.Fatal(err)
	}
	v.varsFile = filepath.Join(t.TempDir(), "vault-vars.yml")
	if err := os.WriteFile(v.varsFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return v
}

func selfSignedCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "releasetest Vault CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// opsFile writes go-patch operations to a temporary ops-file.
func opsFile(t *testing.T, ops string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ops.yml")
	if err := os.WriteFile(p, []byte(ops), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// op is one go-patch operation.
type op map[string]interface{}

func replace(path string, value interface{}) op {
	return op{"type": "replace", "path": path, "value": value}
}

func remove(path string) op { return op{"type": "remove", "path": path} }

// opsFileOf writes operations to a temporary ops-file.
func opsFileOf(t *testing.T, ops ...op) string {
	t.Helper()
	b, err := yaml.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	return opsFile(t, string(b))
}

func releaseOpsFile(name string) string { return filepath.Join(repo, "ops-files", name) }

// renderAPIJob interpolates the base manifest with opsFiles and the vars
// files (generating the base's certificates) and renders job in the api
// instance group under a temporary /var/vcap: it returns the job's rendered
// directory and that root. A rendering error (an ERB raise) is returned.
func renderAPIJob(t *testing.T, job string, opsFiles, varsFiles []string) (out, root string, err error) {
	t.Helper()
	return renderJob(t, "api", job, opsFiles, varsFiles)
}

// renderJob is renderAPIJob for the instance group named group.
func renderJob(t *testing.T, group, job string, opsFiles, varsFiles []string) (out, root string, err error) {
	t.Helper()
	r := boshrel.NewRenderer()
	jobs, err := boshrel.ReadJobs(repo, r.FS)
	if err != nil {
		t.Fatal(err)
	}
	j, ok := jobs[job]
	if !ok {
		t.Fatalf("no jobs/%s/spec", job)
	}
	b, err := boshrel.Interpolate(boshrel.Interpolation{
		Manifest: baseManifest(), OpsFiles: opsFiles, VarsFiles: append(baseVarsFiles(), varsFiles...),
		VarsStore: varsStore(t), VarErrs: true,
	})
	if err != nil {
		t.Fatalf("interpolating manifests/diego.yml with %v: %v", rel(opsFiles), err)
	}
	m, err := boshrel.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, ig := range m.InstanceGroups {
		if ig.Name != group {
			continue
		}
		for _, ref := range ig.Jobs {
			if ref.Name != job {
				continue
			}
			root = filepath.Join(t.TempDir(), "vcap")
			out, err = r.Render(j, ig, ref, m, filepath.Join(root, "jobs"))
			return out, root, err
		}
	}
	t.Fatalf("no job %s in instance group %s with %v", job, group, rel(opsFiles))
	return "", "", nil
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// bbsVaultConfig is the part of the BBS config these tests look at.
type bbsVaultConfig struct {
	EncryptionKeys      map[string]string `json:"encryption_keys"`
	ActiveKeyLabel      *string           `json:"active_key_label"`
	EncryptionKeySource struct {
		Type  string `json:"type"`
		Vault struct {
			Address   string `json:"address"`
			Mount     string `json:"mount"`
			Path      string `json:"path"`
			Token     string `json:"token"`
			TokenFile string `json:"token_file"`
			AppRole   *struct {
				RoleID       string `json:"role_id"`
				SecretID     string `json:"secret_id"`
				SecretIDFile string `json:"secret_id_file"`
				Mount        string `json:"mount"`
			} `json:"approle"`
			CACertFile string `json:"ca_cert_file"`
			Timeout    string `json:"timeout"`
		} `json:"vault"`
	} `json:"encryption_key_source"`
}

// checkBBSConfig runs `bbs -config bbs.json -check-config` on a rendered bbs
// job (paths relocated to root) and returns the parsed config.
func checkBBSConfig(t *testing.T, out, root string) bbsVaultConfig {
	t.Helper()
	if err := relocate(out, root); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(out, "config", "bbs.json")
	cmd := exec.Command(filepath.Join(binaries(t), "bbs"), "-config", cfgPath, "-check-config")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("bbs -check-config: %v\n%s\n%s", err, msg, readFile(t, cfgPath))
	}
	var c bbsVaultConfig
	if err := json.Unmarshal([]byte(readFile(t, cfgPath)), &c); err != nil {
		t.Fatalf("config/bbs.json: %v", err)
	}
	return c
}

// TestBBSVaultKeySource: with use-vault-encryption-keys.yml the rendered BBS
// config reads its keys from Vault with AppRole (the secret_id in a file,
// Vault's CA in a file), holds no key itself, and passes -check-config; with
// a token instead of AppRole the token is a file too.
func TestBBSVaultKeySource(t *testing.T) {
	v := newTestVault(t)
	jobDir := func(root string) string { return filepath.Join(root, "jobs", "bbs") }

	t.Run("approle", func(t *testing.T) {
		t.Parallel()
		out, root, err := renderAPIJob(t, "bbs", []string{releaseOpsFile("use-vault-encryption-keys.yml")}, []string{v.varsFile})
		if err != nil {
			t.Fatalf("rendering bbs: %v", err)
		}
		c := checkBBSConfig(t, out, root)
		ks := c.EncryptionKeySource
		if ks.Type != "vault" || ks.Vault.Address != v.Address || ks.Vault.Mount != "secret" || ks.Vault.Path != "diego/bbs/encryption" || ks.Vault.Timeout != "10s" {
			t.Errorf("encryption_key_source = %+v, want vault at %s, secret/diego/bbs/encryption, 10s", ks, v.Address)
		}
		if c.EncryptionKeys != nil || c.ActiveKeyLabel != nil {
			t.Errorf("encryption_keys %v / active_key_label %v rendered with the vault source", c.EncryptionKeys, c.ActiveKeyLabel)
		}
		if ks.Vault.Token != "" || ks.Vault.TokenFile != "" {
			t.Errorf("token %q / token_file %q set beside AppRole", ks.Vault.Token, ks.Vault.TokenFile)
		}
		ar := ks.Vault.AppRole
		if ar == nil || ar.RoleID != v.BBSRoleID || ar.SecretID != "" || ar.Mount != "approle" ||
			ar.SecretIDFile != filepath.Join(jobDir(root), "config", "vault", "secret-id") {
			t.Fatalf("approle = %+v, want role %s, secret_id only in config/vault/secret-id, mount approle", ar, v.BBSRoleID)
		}
		if got := strings.TrimSpace(readFile(t, ar.SecretIDFile)); got != v.BBSSecretID {
			t.Errorf("config/vault/secret-id holds %q, want %q", got, v.BBSSecretID)
		}
		if strings.Contains(readFile(t, filepath.Join(out, "config", "bbs.json")), v.BBSSecretID) {
			t.Errorf("the secret_id is inline in config/bbs.json")
		}
		if ks.Vault.CACertFile != filepath.Join(jobDir(root), "config", "certs", "vault", "ca.crt") ||
			!x509.NewCertPool().AppendCertsFromPEM([]byte(readFile(t, ks.Vault.CACertFile))) {
			t.Errorf("ca_cert_file %q is not the rendered Vault CA", ks.Vault.CACertFile)
		}
	})

	t.Run("token", func(t *testing.T) {
		t.Parallel()
		token := opsFile(t, `
- type: remove
  path: /instance_groups/name=api/jobs/name=bbs/properties/diego/bbs/vault/approle
- type: remove
  path: /instance_groups/name=api/jobs/name=bbs/properties/diego/bbs/vault/ca_cert
- type: replace
  path: /instance_groups/name=api/jobs/name=bbs/properties/diego/bbs/vault/token?
  value: s.releasetest-token
- type: replace
  path: /instance_groups/name=api/jobs/name=bbs/properties/diego/bbs/vault/timeout_in_seconds?
  value: 3
`)
		out, root, err := renderAPIJob(t, "bbs", []string{releaseOpsFile("use-vault-encryption-keys.yml"), token}, []string{v.varsFile})
		if err != nil {
			t.Fatalf("rendering bbs: %v", err)
		}
		c := checkBBSConfig(t, out, root)
		vc := c.EncryptionKeySource.Vault
		if vc.AppRole != nil || vc.Token != "" || vc.TokenFile != filepath.Join(jobDir(root), "config", "vault", "token") || vc.CACertFile != "" || vc.Timeout != "3s" {
			t.Fatalf("vault = %+v, want only token_file config/vault/token, no CA file, timeout 3s", vc)
		}
		if got := strings.TrimSpace(readFile(t, vc.TokenFile)); got != "s.releasetest-token" {
			t.Errorf("config/vault/token holds %q", got)
		}
	})
}

// TestVaultTemplateErrors: inconsistent properties fail rendering with a
// message naming the property (the BBS would refuse them at start).
func TestVaultTemplateErrors(t *testing.T) {
	v := newTestVault(t)
	useVault := releaseOpsFile("use-vault-encryption-keys.yml")
	errand := releaseOpsFile("add-rotate-encryption-key-errand.yml")
	const bbsProps = "/instance_groups/name=api/jobs/name=bbs/properties/diego/bbs"
	const errandProps = "/instance_groups/name=api/jobs/name=rotate-encryption-key/properties/diego/rotate_encryption_key"
	cases := []struct {
		name, job string
		ops       []string // release ops-files
		extra     []op     // then these operations
		want      string
	}{
		{"vault without address", "bbs", []string{useVault},
			[]op{remove(bbsProps + "/vault/address")},
			"diego.bbs.vault.address must be Vault's http(s)://host:port"},
		{"vault address without scheme", "bbs", []string{useVault},
			[]op{replace(bbsProps+"/vault/address", "vault.example.com:8200")},
			"diego.bbs.vault.address must be Vault's http(s)://host:port"},
		{"neither token nor approle", "bbs", []string{useVault},
			[]op{remove(bbsProps + "/vault/approle")},
			"set exactly one of diego.bbs.vault.token and diego.bbs.vault.approle.role_id"},
		{"token and approle", "bbs", []string{useVault},
			[]op{replace(bbsProps+"/vault/token?", "s.x")},
			"set exactly one of diego.bbs.vault.token and diego.bbs.vault.approle.role_id"},
		{"approle without secret_id", "bbs", []string{useVault},
			[]op{remove(bbsProps + "/vault/approle/secret_id")},
			"diego.bbs.vault.approle.role_id needs diego.bbs.vault.approle.secret_id"},
		{"vault with manifest keys", "bbs", nil,
			[]op{replace(bbsProps+"/encryption_key_source?", "vault"),
				replace(bbsProps+"/vault?", map[string]string{"address": "https://vault.example.com:8200", "token": "s.x"})},
			"diego.bbs.encryption_keys and diego.bbs.active_key_label must be empty with diego.bbs.encryption_key_source: vault"},
		{"unknown source", "bbs", nil,
			[]op{replace(bbsProps+"/encryption_key_source?", "consul")},
			`diego.bbs.encryption_key_source must be config or vault, not "consul"`},
		{"config without keys", "bbs", nil,
			[]op{remove(bbsProps + "/encryption_keys")},
			"diego.bbs.encryption_keys must list at least one {label, passphrase} (or set diego.bbs.encryption_key_source: vault)"},
		{"vault timeout", "bbs", []string{useVault},
			[]op{replace(bbsProps+"/vault/timeout_in_seconds?", 0)},
			"diego.bbs.vault.timeout_in_seconds must be a positive number"},
		{"errand plain http BBS", "rotate-encryption-key", []string{useVault, errand},
			[]op{replace(errandProps+"/bbs/admin_urls", []string{"http://bbs.service.cf.internal:8889"})},
			"must be an https:// URL"},
		{"errand without BBS URLs", "rotate-encryption-key", []string{useVault, errand},
			[]op{replace(errandProps+"/bbs/admin_urls", []string{})},
			"diego.rotate_encryption_key.bbs.admin_urls must list at least one https:// URL"},
		{"errand neither token nor approle", "rotate-encryption-key", []string{useVault, errand},
			[]op{remove(errandProps + "/vault/approle")},
			"set exactly one of diego.rotate_encryption_key.vault.token and diego.rotate_encryption_key.vault.approle.role_id"},
		{"errand timeout", "rotate-encryption-key", []string{useVault, errand},
			[]op{replace(errandProps+"/timeout?", "30 minutes")},
			`diego.rotate_encryption_key.timeout "30 minutes" is not a Go duration`},
		{"errand label", "rotate-encryption-key", []string{useVault, errand},
			[]op{replace(errandProps+"/new_key_label?", "a:b")},
			`diego.rotate_encryption_key.new_key_label "a:b" must be 1-127 bytes without ':'`},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ops := append(append([]string{}, c.ops...), opsFileOf(t, c.extra...))
			_, _, err := renderAPIJob(t, c.job, ops, []string{v.varsFile})
			if err == nil {
				t.Fatalf("rendering %s succeeded, want an error %q", c.job, c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("rendering %s: %v\nwant the message %q", c.job, err, c.want)
			}
		})
	}
}

// TestRotateEncryptionKeyErrand renders the errand with
// use-vault-encryption-keys.yml + add-rotate-encryption-key-errand.yml (two
// BBS URLs and a new key label needing shell quoting added), then runs its
// bin/run: with a stand-in diego that records its command line, which must
// be exactly the expected flags, and with the real diego binary, which must
// accept that command line and the rendered certificates and fail only on
// Vault (nothing listens at the address), changing nothing.
func TestRotateEncryptionKeyErrand(t *testing.T) {
	v := newTestVault(t)
	const label = `key-'q' $(echo injected) "z"`
	extra := opsFile(t, `
- type: replace
  path: /instance_groups/name=api/jobs/name=rotate-encryption-key/properties/diego/rotate_encryption_key/bbs/admin_urls/-
  value: https://127.0.0.1:8889
- type: replace
  path: /instance_groups/name=api/jobs/name=rotate-encryption-key/properties/diego/rotate_encryption_key/new_key_label?
  value: '`+strings.ReplaceAll(label, "'", "''")+`'
`)
	out, root, err := renderAPIJob(t, "rotate-encryption-key",
		[]string{releaseOpsFile("use-vault-encryption-keys.yml"), releaseOpsFile("add-rotate-encryption-key-errand.yml"), extra},
		[]string{v.varsFile})
	if err != nil {
		t.Fatalf("rendering rotate-encryption-key: %v", err)
	}
	run := filepath.Join(out, "bin", "run")
	if msg, err := exec.Command("bash", "-n", run).CombinedOutput(); err != nil {
		t.Fatalf("bash -n bin/run: %v\n%s", err, msg)
	}
	job := filepath.Join(root, "jobs", "rotate-encryption-key")

	// the rendered certificates and secrets
	if _, err := tls.LoadX509KeyPair(filepath.Join(job, "config/certs/admin.crt"), filepath.Join(job, "config/certs/admin.key")); err != nil {
		t.Errorf("config/certs/admin.crt/key: %v", err)
	} else if cn := certCN(t, filepath.Join(job, "config/certs/admin.crt")); cn != "diego-admin" {
		t.Errorf("the admin certificate's common name is %q, want diego-admin (the BBS's admin_common_names)", cn)
	}
	for _, ca := range []string{"config/certs/ca.crt", "config/certs/vault/ca.crt"} {
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(readFile(t, filepath.Join(job, ca)))) {
			t.Errorf("%s is not a PEM CA", ca)
		}
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(job, "config/vault/secret-id"))); got != v.RotationSecret {
		t.Errorf("config/vault/secret-id holds %q, want %q", got, v.RotationSecret)
	}
	if strings.Contains(readFile(t, run), v.RotationSecret) {
		t.Errorf("bin/run holds the AppRole secret_id; it belongs in config/vault/secret-id")
	}

	// the command line, recorded by a stand-in diego
	fake := filepath.Join(t.TempDir(), "packages")
	os.MkdirAll(filepath.Join(fake, "diego-cli", "bin"), 0o755)
	argsFile := filepath.Join(t.TempDir(), "args")
	envFile := filepath.Join(t.TempDir(), "env")
	stand := "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" > " + argsFile + "\nenv | grep -E '^(DIEGO_TARGET|BBS_|VAULT_)' > " + envFile + " || true\necho rotated\n"
	if err := os.WriteFile(filepath.Join(fake, "diego-cli", "bin", "diego"), []byte(stand), 0o755); err != nil {
		t.Fatal(err)
	}
	runErrand := func(pkgs string) (string, error) {
		cmd := exec.Command("bash", run)
		cmd.Env = append(os.Environ(),
			"DIEGO_JOBS_DIR="+filepath.Join(root, "jobs"), "DIEGO_PACKAGES_DIR="+pkgs,
			"DIEGO_LOG_DIR="+filepath.Join(root, "sys", "log"),
			// the errand must not use these: it passes everything as flags
			"DIEGO_TARGET=/nonexistent/target.json", "VAULT_TOKEN=s.from-the-environment", "VAULT_ADDR=https://wrong:8200", "BBS_URL=https://wrong:8889")
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	output, err := runErrand(fake)
	if err != nil {
		t.Fatalf("bin/run with a stand-in diego: %v\n%s", err, output)
	}
	got := strings.Split(strings.TrimSuffix(readFile(t, argsFile), "\n"), "\n")
	want := []string{
		"rotate-encryption-key", "--output", "table",
		"--bbs-admin-url", "https://bbs.service.cf.internal:8889",
		"--bbs-admin-url", "https://127.0.0.1:8889",
		"--admin-cert", job + "/config/certs/admin.crt",
		"--admin-key", job + "/config/certs/admin.key",
		"--ca-cert", job + "/config/certs/ca.crt",
		"--vault-addr", v.Address,
		"--vault-mount", "secret",
		"--vault-path", "diego/bbs/encryption",
		"--vault-role-id", v.RotationRoleID,
		"--vault-secret-id-file", job + "/config/vault/secret-id",
		"--vault-approle-mount", "approle",
		"--vault-ca-cert", job + "/config/certs/vault/ca.crt",
		"--new-key-label", label,
		"--timeout", "30m",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bin/run ran diego with\n  %q\nwant\n  %q", got, want)
	}
	if env := strings.TrimSpace(readFile(t, envFile)); env != "" {
		t.Errorf("diego ran with the environment's %s", env)
	}
	if log := readFile(t, filepath.Join(root, "sys", "log", "rotate-encryption-key", "run.log")); !strings.Contains(log, "rotated") || !strings.Contains(log, "exit status 0") {
		t.Errorf("run.log lacks the command's output and status:\n%s", log)
	}

	// the vault path the errand rotates is the one the BBS reads
	bbsOut, bbsRoot, err := renderAPIJob(t, "bbs", []string{releaseOpsFile("use-vault-encryption-keys.yml"), releaseOpsFile("add-rotate-encryption-key-errand.yml")}, []string{v.varsFile})
	if err != nil {
		t.Fatalf("rendering bbs: %v", err)
	}
	bc := checkBBSConfig(t, bbsOut, bbsRoot)
	if vc := bc.EncryptionKeySource.Vault; vc.Address != v.Address || vc.Mount != "secret" || vc.Path != "diego/bbs/encryption" {
		t.Errorf("the BBS reads %s %s/%s, the errand rotates %s secret/diego/bbs/encryption", vc.Address, vc.Mount, vc.Path, v.Address)
	}

	// the real diego: the flags parse, the certificates load, and the run
	// stops at Vault (connection refused) with exit status 1, nothing changed
	realPkgs := filepath.Join(t.TempDir(), "packages")
	os.MkdirAll(filepath.Join(realPkgs, "diego-cli", "bin"), 0o755)
	if err := os.Symlink(filepath.Join(binaries(t), "diego"), filepath.Join(realPkgs, "diego-cli", "bin", "diego")); err != nil {
		t.Fatal(err)
	}
	output, err = runErrand(realPkgs)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("bin/run with the real diego: %v, want exit status 1 (Vault unreachable)\n%s", err, output)
	}
	host := strings.TrimPrefix(v.Address, "https://")
	if !strings.Contains(output, "nothing changed") || !strings.Contains(output, host) || !strings.Contains(output, "exit status 1") {
		t.Errorf("bin/run with the real diego: want a Vault error naming %s, \"nothing changed\" and the exit status; got\n%s", host, output)
	} else {
		t.Logf("bin/run with the real diego (Vault unreachable):\n%s", output)
	}
}

func certCN(t *testing.T, path string) string {
	t.Helper()
	block, _ := pem.Decode([]byte(readFile(t, path)))
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c.Subject.CommonName
}
