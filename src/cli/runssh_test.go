package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/sshproxy"
)

// TestWithSSH: --ssh adds what Cloud Controller adds for SSH: the bundle,
// the codependent diego-sshd on 2222 and a diego-ssh route, and the LRP
// stays valid.
func TestWithSSH(t *testing.T) {
	lrp, err := desiredLRPFor("web", runOptions{Instances: 1, Port: 8080, RootFS: "preloaded:cflinuxfs4", Domain: "d", User: "vcap"}, []string{"./web"})
	if err != nil {
		t.Fatal(err)
	}
	if err := withSSH(lrp, "http://fs/v1/static/diego-sshd/diego-sshd.tgz"); err != nil {
		t.Fatal(err)
	}
	if err := lrp.Validate(); err != nil {
		t.Fatalf("invalid LRP: %v", err)
	}
	co := lrp.Action.CodependentAction
	if co == nil || len(co.Actions) != 2 || co.Actions[1].RunAction.Path != "/tmp/lifecycle/diego-sshd" ||
		co.Actions[1].RunAction.Args[0] != "-address=0.0.0.0:$PORT" || co.Actions[1].RunAction.Env[0].Value != "2222" {
		t.Fatalf("action: %+v", lrp.Action)
	}
	if len(lrp.Ports) != 2 || lrp.Ports[1] != 2222 || len(lrp.CachedDependencies) != 1 || lrp.CachedDependencies[0].To != "/tmp/lifecycle" {
		t.Fatalf("ports %v, dependencies %+v", lrp.Ports, lrp.CachedDependencies)
	}
	var r sshproxy.Route
	if err := json.Unmarshal(*(*lrp.Routes)["diego-ssh"], &r); err != nil || r.ContainerPort != 2222 ||
		!strings.Contains(r.PrivateKey, "PRIVATE KEY") || r.HostFingerprint == "" {
		t.Fatalf("diego-ssh route: %+v %v", r, err)
	}
}
