package cli

import (
	"strings"
	"testing"
)

func TestRotateEncryptionKeyUsage(t *testing.T) {
	t.Setenv("VAULT_ADDR", "")
	t.Setenv("BBS_URL", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rotate-encryption-key"}, "--bbs-admin-url is required"},
		{[]string{"rotate-encryption-key", "--bbs-admin-url", "https://b:8889"}, "--admin-cert, --admin-key and --ca-cert are required"},
		{[]string{"rotate-encryption-key", "--bbs-admin-url", "https://b:8889", "--admin-cert", "a", "--admin-key", "k", "--ca-cert", "c"}, "--vault-addr"},
		{[]string{"rotate-encryption-key", "--bbs-admin-url", "http://b:8889", "--admin-cert", "a", "--admin-key", "k", "--ca-cert", "c", "--vault-addr", "http://v"}, "must be https://"},
		{[]string{"rotate-encryption-key", "--timeout", "soon"}, "--timeout"},
		{[]string{"rotate-encryption-key", "--bbs-admin-url", "https://b:8889", "--admin-cert", "a", "--admin-key", "k", "--ca-cert", "c",
			"--vault-addr", "http://v", "--vault-token", "t", "--vault-role-id", "r"}, "exactly one of token"},
	} {
		_, stderr, err := runCLI(tc.args...)
		if ExitCode(err) != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, ExitCode(err), stderr, tc.want)
		}
	}
}
