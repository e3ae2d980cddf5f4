package daemon

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rep/identity"
)

// withIdentity is a cell tweak giving it an instance identity CA and a
// directory of trusted system certificates (holding ca1.crt).
func withIdentity(t testing.TB) (func(*Settings, *Options), *pki.CA) {
	t.Helper()
	ca, err := pki.NewCA("test-instance-identity-ca")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := pki.WriteFiles(dir, map[string][]byte{"id-ca.crt": ca.CertPEM(), "id-ca.key": ca.KeyPEM()}); err != nil {
		t.Fatal(err)
	}
	trusted := filepath.Join(dir, "trusted")
	if err := pki.WriteFiles(trusted, map[string][]byte{"ca1.crt": ca.CertPEM()}); err != nil {
		t.Fatal(err)
	}
	return func(c *Settings, _ *Options) {
		c.InstanceIdentityCredDir = filepath.Join(dir, "creds")
		c.InstanceIdentityCAPath, c.InstanceIdentityPrivateKeyPath = filepath.Join(dir, "id-ca.crt"), filepath.Join(dir, "id-ca.key")
		c.TrustedSystemCertificatesPath = trusted
	}, ca
}

// identityCell starts a process-backend cell withIdentity.
func identityCell(t *testing.T, cellID string) (*cellFixture, *pki.CA) {
	t.Helper()
	tweak, ca := withIdentity(t)
	return addCell(t, newBBS(t), cellID, tweak), ca
}

// envOf parses `env` output up to a "====" line.
func envOf(out string) map[string]string {
	env := map[string]string{}
	for line := range strings.SplitSeq(out, "\n") {
		if line == "====" {
			break
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env
}

// leafOf parses the PEM chain in s and checks it is the leaf then the CA.
func leafOf(t *testing.T, s string, ca *pki.CA) *x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for rest := []byte(s); ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	if len(certs) != 2 || !certs[1].Equal(ca.Certificate()) {
		t.Fatalf("CF_INSTANCE_CERT holds %d certificates, want the leaf and the identity CA:\n%s", len(certs), s)
	}
	return certs[0]
}

// runEnvTask runs a task that reports its environment, its certificate,
// the first line of its key and the trusted certificates (then runs
// script) into dir/result.txt, and returns its definition and the
// completed task.
func runEnvTask(t *testing.T, f *cellFixture, guid, dir, script string) (*models.TaskDefinition, *models.Task) {
	t.Helper()
	def := taskDef(`{ env; echo ====; cat "$CF_INSTANCE_CERT"; echo ====; head -1 "$CF_INSTANCE_KEY"; ls "$CF_SYSTEM_CERT_PATH"; `+script+` } > result.txt`, path.Join(dir, "result.txt"))
	def.Action.RunAction.Dir = dir
	def.EnvironmentVariables = []*models.EnvironmentVariable{{Name: "FOO", Value: "bar"}}
	def.TrustedSystemCertificatesPath = "/etc/cf-system-certificates"
	def.CertificateProperties = &models.CertificateProperties{OrganizationalUnit: []string{"app:a-guid", "space:s-guid", "organization:o-guid"}}
	f.placeTask(t, guid, def)
	task := f.waitTask(t, guid, models.Task_Completed)
	if task.Failed {
		t.Fatalf("task failed: %s", task.FailureReason)
	}
	return def, task
}

// TestTaskEnvironmentAndIdentity: a task's container has its variables, the
// networking variables, the trusted certificates at its
// trusted_system_certificates_path (CF_SYSTEM_CERT_PATH) and instance
// identity credentials for the task guid (CF_INSTANCE_CERT/KEY), removed
// with the container.
func TestTaskEnvironmentAndIdentity(t *testing.T) {
	f, ca := identityCell(t, "cell-env-task")
	def, task := runEnvTask(t, f, "task-env", "/", "")
	env := envOf(task.Result)
	for k, want := range map[string]string{"FOO": "bar", "CF_INSTANCE_IP": "127.0.0.1", "CF_INSTANCE_INTERNAL_IP": "127.0.0.1",
		"CF_INSTANCE_PORT": "", "CF_INSTANCE_ADDR": "", "CF_INSTANCE_PORTS": "[]"} {
		if got, ok := env[k]; !ok || got != want {
			t.Errorf("%s=%q (set: %v), want %q", k, got, ok, want)
		}
	}
	// The process backend has no mount namespace: the paths are under the
	// container's home (see container/process).
	for k, suffix := range map[string]string{"CF_INSTANCE_CERT": "/etc/cf-instance-credentials/instance.crt",
		"CF_INSTANCE_KEY": "/etc/cf-instance-credentials/instance.key", "CF_SYSTEM_CERT_PATH": "/etc/cf-system-certificates"} {
		if !strings.HasSuffix(env[k], suffix) {
			t.Errorf("%s=%q, want a path ending %s", k, env[k], suffix)
		}
	}
	if _, ok := env["INSTANCE_GUID"]; ok {
		t.Error("a task's container has INSTANCE_GUID (LRP instances only)")
	}
	parts := strings.Split(task.Result, "====\n")
	if len(parts) != 3 {
		t.Fatalf("result %q: want env, certificate, key and listing", task.Result)
	}
	leaf := leafOf(t, parts[1], ca)
	if leaf.Subject.CommonName != "task-env" || !slices.Equal(leaf.Subject.OrganizationalUnit, def.CertificateProperties.OrganizationalUnit) ||
		len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "127.0.0.1" {
		t.Errorf("certificate CN %q OU %v IPs %v", leaf.Subject.CommonName, leaf.Subject.OrganizationalUnit, leaf.IPAddresses)
	}
	if parts[2] != "-----BEGIN RSA PRIVATE KEY-----\nca1.crt\n" {
		t.Errorf("key and trusted certificates %q", parts[2])
	}
	f.waitTaskGone(t, "task-env")
	if entries, _ := os.ReadDir(f.cfg.InstanceIdentityCredDir); len(entries) != 0 {
		t.Errorf("credentials left behind: %v", entries)
	}
}

// TestLRPEnvironment: an LRP instance's container has the executor's
// instance variables and its port's networking variables.
func TestLRPEnvironment(t *testing.T) {
	f, ca := identityCell(t, "cell-env-lrp")
	d := sleeper("pg-env")
	d.Ports = []uint32{8080}
	d.EnvironmentVariables = []*models.EnvironmentVariable{{Name: "PORT", Value: "8080"}}
	d.Action = models.WrapAction(&models.RunAction{Path: "/bin/sh", User: "vcap",
		Args: []string{"-c", `{ env; echo ====; cat "$CF_INSTANCE_CERT"; } > env.txt; exec sleep 600`}})
	f.desireAndPlace(t, d, "ig-env")
	var out string
	eventually(t, "the instance's env.txt", func() (bool, string) {
		c, err := f.d.backend.Lookup(t.Context(), "ig-env")
		if err != nil {
			return false, err.Error()
		}
		out, err = readResult(t.Context(), c, "/env.txt")
		return err == nil && strings.Count(out, "END CERTIFICATE") == 2, fmt.Sprint(out, err)
	})
	env := envOf(out)
	c, _ := f.d.backend.Lookup(t.Context(), "ig-env")
	info, _ := c.Info(t.Context())
	host := info.Ports[0].HostPort
	ports, _ := json.Marshal([]map[string]uint32{{"external": host, "internal": host}})
	for k, want := range map[string]string{"INSTANCE_GUID": "ig-env", "INSTANCE_INDEX": "0", "CF_INSTANCE_GUID": "ig-env", "CF_INSTANCE_INDEX": "0",
		"CF_INSTANCE_PORT": fmt.Sprint(host), "CF_INSTANCE_ADDR": fmt.Sprintf("127.0.0.1:%d", host), "CF_INSTANCE_PORTS": string(ports),
		"PORT": fmt.Sprint(host)} {
		if env[k] != want {
			t.Errorf("%s=%q, want %q", k, env[k], want)
		}
	}
	if leaf := leafOf(t, strings.SplitN(out, "====\n", 2)[1], ca); leaf.Subject.CommonName != "ig-env" || !slices.Equal(leaf.DNSNames, []string{"ig-env"}) {
		t.Errorf("certificate CN %q DNS %v, want the instance guid", leaf.Subject.CommonName, leaf.DNSNames)
	}
}

// TestLogRateLimit: output over a task's log_rate_limit is dropped after
// the executor's notice.
func TestLogRateLimit(t *testing.T) {
	out := &testutil.SyncBuffer{}
	f := addCell(t, newBBS(t), "cell-lograte", func(_ *Settings, o *Options) { o.ContainerOutput = out })
	def := taskDef(`for i in 1 2 3 4 5 6 7 8 9 10; do echo line-$i; done`, "")
	def.LogRateLimit = &models.LogRateLimit{BytesPerSecond: 20}
	f.placeTask(t, "task-lograte", def)
	if task := f.waitTask(t, "task-lograte", models.Task_Completed); task.Failed {
		t.Fatalf("task failed: %s", task.FailureReason)
	}
	eventually(t, "the notice", func() (bool, string) {
		return strings.Contains(out.String(), "app instance exceeded log rate limit (20 bytes/sec)\n"), out.String()
	})
	if got := out.String(); !strings.Contains(got, "line-1\n") || strings.Contains(got, "line-10") {
		t.Errorf("output %q: want the first lines, then the notice and nothing more", got)
	}
}

// TestLogStreamsSeparate: under a limit, stdout and stderr are cut into
// messages separately, as the executor's log streamer does: lines written
// in pieces on both streams at once come out whole, and the line a process
// leaves unterminated is flushed with the run step's exit message.
func TestLogStreamsSeparate(t *testing.T) {
	out := &testutil.SyncBuffer{}
	f := addCell(t, newBBS(t), "cell-logstreams", func(_ *Settings, o *Options) { o.ContainerOutput = out })
	def := taskDef(`printf out-; printf err- >&2; sleep 0.1; echo A; echo B >&2; printf tail`, "")
	def.LogRateLimit = &models.LogRateLimit{BytesPerSecond: 1000}
	f.placeTask(t, "task-logstreams", def)
	if task := f.waitTask(t, "task-logstreams", models.Task_Completed); task.Failed {
		t.Fatalf("task failed: %s", task.FailureReason)
	}
	eventually(t, "the output", func() (bool, string) {
		got := out.String()
		return strings.Contains(got, "out-A\n") && strings.Contains(got, "err-B\n") && strings.Contains(got, "\ntailExit status 0\n"), got
	})
}

// TestContainerEnvSettingsValidate: instance identity needs its CA, paths
// are absolute, and the validity defaults to 24h.
func TestContainerEnvSettingsValidate(t *testing.T) {
	s := Settings{InstanceIdentityCredDir: "/", TrustedSystemCertificatesPath: "certs", MaxLogLinesPerSecond: -1}.WithDefaults()
	if s.InstanceIdentityValidityPeriod != Duration(identity.DefaultValidity) {
		t.Errorf("validity default %v, want 24h", s.InstanceIdentityValidityPeriod)
	}
	err := fmt.Sprint(s.Validate())
	for _, want := range []string{"instance_identity_ca_path", "instance_identity_cred_dir must be a directory of its own", "trusted_system_certificates_path must be an absolute path", "max_log_lines_per_second"} {
		if !strings.Contains(err, want) {
			t.Errorf("Validate: %s\nwant an error about %s", err, want)
		}
	}
}

// TestRuncEnvironmentAndIdentity: in a runc container the credentials and
// trusted certificates are at the reference's paths, not writable, and the
// certificate's IP SAN is the container's IP.
func TestRuncEnvironmentAndIdentity(t *testing.T) {
	tweak, ca := withIdentity(t)
	f := runcCell(t, 2, false, tweak)
	_, task := runEnvTask(t, f, "task-runc-env", "/tmp", `if echo x > "$CF_INSTANCE_CERT" 2>/dev/null; then echo wrote; else echo refused; fi;`)
	env := envOf(task.Result)
	for k, want := range map[string]string{"CF_INSTANCE_CERT": "/etc/cf-instance-credentials/instance.crt", "CF_INSTANCE_KEY": "/etc/cf-instance-credentials/instance.key",
		"CF_SYSTEM_CERT_PATH": "/etc/cf-system-certificates", "CF_INSTANCE_IP": "127.0.0.1", "FOO": "bar"} {
		if env[k] != want {
			t.Errorf("%s=%q, want %q", k, env[k], want)
		}
	}
	parts := strings.Split(task.Result, "====\n")
	if len(parts) != 3 || parts[2] != "-----BEGIN RSA PRIVATE KEY-----\nca1.crt\nrefused\n" {
		t.Fatalf("result %q: want the key, the trusted certificate and a refused write", task.Result)
	}
	leaf := leafOf(t, parts[1], ca)
	if ip := env["CF_INSTANCE_INTERNAL_IP"]; len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != ip || ip == "127.0.0.1" {
		t.Errorf("certificate IPs %v, want the container's IP %q", leaf.IPAddresses, ip)
	}
}

// TestCredDirFailure: a container whose credentials directory cannot be
// made fails with the executor's reason.
func TestCredDirFailure(t *testing.T) {
	f, _ := identityCell(t, "cell-env-creddir")
	if err := os.Mkdir(filepath.Join(f.cfg.InstanceIdentityCredDir, "task-creddir"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.placeTask(t, "task-creddir", taskDef("true", ""))
	if task := f.waitTask(t, "task-creddir", models.Task_Completed); !task.Failed || task.FailureReason != "failed to create credentials directory" {
		t.Errorf("task failed=%v reason %q, want the executor's credentials directory failure", task.Failed, task.FailureReason)
	}
}
