package releasetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// routeEmitterOps places the route_emitter job as cf-deployment does, until
// manifests/diego.yml does: global mode on the scheduler (NATS by
// properties, user and password), local mode on the cells (NATS over TLS
// with a client certificate, internal routes, direct instance routes).
const routeEmitterOps = `
- type: replace
  path: /instance_groups/name=scheduler/jobs/-
  value:
    name: route_emitter
    release: diego-go
    properties:
      diego:
        route_emitter:
          bbs:
            ca_cert: ((bbs_client.ca))
            client_cert: ((bbs_client.certificate))
            client_key: ((bbs_client.private_key))
          nats:
            machines: [10.0.0.10, 10.0.0.11]
            port: 4222
            user: nats
            password: ((route_emitter_test_nats_password))
- type: replace
  path: /instance_groups/name=diego-cell/jobs/-
  value:
    name: route_emitter
    release: diego-go
    properties:
      register_direct_instance_routes: true
      internal_routes:
        enabled: true
      diego:
        route_emitter:
          local_mode: true
          bbs:
            ca_cert: ((bbs_client.ca))
            client_cert: ((bbs_client.certificate))
            client_key: ((bbs_client.private_key))
          nats:
            machines: [nats.service.cf.internal]
            port: 4224
            tls:
              enabled: true
              ca_cert: ((bbs_client.ca))
              client_cert: ((bbs_client.certificate))
              client_key: ((bbs_client.private_key))
- type: replace
  path: /variables/-
  value:
    name: route_emitter_test_nats_password
    type: password
`

// TestRouteEmitterJob renders the route_emitter job in global and local
// mode (with the checks of TestRenderTemplates: bpm.yml, bash -n, and
// `route-emitter -check-config` on the rendered config) and checks its
// properties against the spec.
func TestRouteEmitterJob(t *testing.T) {
	ops := filepath.Join(t.TempDir(), "route-emitter.yml")
	if err := os.WriteFile(ops, []byte(routeEmitterOps), 0o644); err != nil {
		t.Fatal(err)
	}
	s := scenario{name: "route-emitter", opsFiles: []string{ops}, varsFiles: baseVarsFiles()}
	renderer := boshrel.NewRenderer()
	jobs, err := boshrel.ReadJobs(repo, renderer.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := jobs["route_emitter"]; !ok {
		t.Fatal("no jobs/route_emitter")
	}
	renderScenario(t, s, jobs, renderer, binaries(t))

	b, err := boshrel.Interpolate(boshrel.Interpolation{Manifest: baseManifest(), OpsFiles: s.opsFiles, VarsFiles: s.varsFiles})
	if err != nil {
		t.Fatal(err)
	}
	m, err := boshrel.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range boshrel.Validate(m, jobs, "") {
		t.Errorf("%s", p)
	}
}
