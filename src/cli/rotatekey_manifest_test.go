package cli

import (
	"strings"
	"testing"
)

// TestRotateEncryptionKeyManifestUsage: manifest mode's usage errors (the
// rotation itself runs against real BBSs in src/rotate).
func TestRotateEncryptionKeyManifestUsage(t *testing.T) {
	t.Setenv("VAULT_ADDR", "")
	t.Setenv("BBS_URL", "")
	admin := []string{"rotate-encryption-key", "--bbs-admin-url", "https://b:8889", "--admin-cert", "a", "--admin-key", "k", "--ca-cert", "c"}
	with := func(extra ...string) []string { return append(append([]string{}, admin...), extra...) }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{with("--deployment", "diego", "--manifest", "m.yml", "--vault-addr", "https://v:8200"), "--vault-addr: the key ring is either in Vault (--vault-addr) or in the manifest"},
		{with("--manifest", "m.yml", "--vault-token", "t"), "not both"},
		{with("--deployment", "diego"), "manifest mode needs --deployment and --manifest"},
		{with("--ops-file", "o.yml"), "manifest mode needs --deployment and --manifest"},
		{with("--dry-run"), "manifest mode needs --deployment and --manifest"},
		{with("--deployment", "diego", "--manifest", "m.yml", "-v", "novalue"), `"novalue" is not KEY=VALUE`},
		{with("--deployment", "diego", "--manifest", "m.yml", "--new-key-label", "a:b"), `--new-key-label: key label "a:b"`},
		{with("--deployment", "diego", "--manifest", "m.yml", "--timeout", "0s"), "--timeout"},
		{[]string{"rotate-encryption-key", "--deployment", "diego", "--manifest", "m.yml"}, "--bbs-admin-url is required"},
		{with(), "or give --deployment and --manifest"},
	} {
		_, stderr, err := runCLI(tc.args...)
		if ExitCode(err) != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, ExitCode(err), stderr, tc.want)
		}
	}

	// VAULT_ADDR in the environment (the pipeline's credential store) does
	// not make a manifest-mode command line ambiguous
	t.Setenv("VAULT_ADDR", "https://vault:8200")
	_, stderr, err := runCLI(with("--deployment", "diego", "--manifest", "m.yml")...)
	if ExitCode(err) != 1 || strings.Contains(stderr, "not both") || !strings.Contains(stderr, "admin client TLS") {
		t.Errorf("manifest mode with VAULT_ADDR set: exit %d, stderr %q", ExitCode(err), stderr)
	}

	// the usage lists manifest mode's flags
	stdout, _, _ := runCLI("rotate-encryption-key", "-h")
	for _, f := range []string{"--deployment", "--manifest", "--ops-file", "-l, --vars-file", "-v, --var", "--bosh-cli", "--dry-run", "--ops-dir"} {
		if !strings.Contains(stdout, f) {
			t.Errorf("usage lacks %s:\n%s", f, stdout)
		}
	}
}
