package main

import (
	"testing"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/sshd/sshtest"
)

// TestSSHProxyCommand: the shared daemon flags (-version, -config,
// -check-config) on a valid and an invalid config.
func TestSSHProxyCommand(t *testing.T) {
	cert := testutil.WriteJSON(t, "cert.pem", "placeholder")
	good := testutil.WriteJSON(t, "good.json", map[string]any{
		"address": "127.0.0.1:2222", "health_check_address": "127.0.0.1:2223", "host_key": sshtest.NewKey(t).PEM,
		"bbs_address": "bbs.service.cf.internal:8889", "bbs_ca_cert": cert, "bbs_client_cert": cert, "bbs_client_key": cert,
		"enable_diego_auth": true, "diego_credentials": "secret", "idle_connection_timeout": "300s", "communication_timeout": "10s",
	})
	bad := testutil.WriteJSON(t, "bad.json", map[string]any{"address": "127.0.0.1:2222", "enable_diego_auth": true})
	testutil.CheckDaemonFlags(t, sshProxyCommand.Execute, "ssh-proxy", good, bad, "host_key is required")
}
