package table

import (
	"encoding/json"
	"testing"

	"code.cloudfoundry.org/bbs/models"
)

// Internal routes go to the service-discovery messages, at the container
// address, with the hostname and INDEX.hostname, as the reference's.
func TestInternalRoutes(t *testing.T) {
	tb := New()
	d := desiredLRP("pg", `[{"hostnames":["dora.example.com"],"port":8080}]`)
	raw := json.RawMessage(`[{"hostname":"dora.apps.internal"}]`)
	(*d.Routes)["internal-router"] = &raw
	tb.SetDesired(d)
	m := tb.SetActual(actualLRP("pg", "ig-1", 2, models.ActualLRPStateRunning, false, "10.0.0.5", 61000))
	if len(m.Registrations) != 1 || len(m.InternalRegistrations) != 1 {
		t.Fatalf("got %+v", m)
	}
	want := `{"host":"10.255.0.2","port":0,"uris":["dora.apps.internal","2.dora.apps.internal"],"app":"log-pg",` +
		`"private_instance_index":"2","tags":{"component":"route-emitter"},"availability_zone":"z1"}`
	if got := mustJSON(t, m.InternalRegistrations[0]); got != want {
		t.Fatalf("internal register body\n got %s\nwant %s", got, want)
	}
	if got := tb.InternalRegistrations(); len(got) != 1 {
		t.Fatalf("InternalRegistrations = %+v", got)
	}
	ext, in := tb.Snapshot()
	if len(ext) != 1 || len(in) != 1 || ext[0].ProcessGUID != "pg" || in[0].URIs[0] != "dora.apps.internal" {
		t.Fatalf("Snapshot = %+v, %+v", ext, in)
	}
	m = tb.RemoveDesired("pg")
	if len(m.Unregistrations) != 1 || len(m.InternalUnregistrations) != 1 {
		t.Fatalf("removal: %+v", m)
	}
}

// Direct instance routes use the container address and ports: always when
// the instance prefers its instance address, by the option when it does not
// say, never when it prefers the host.
func TestDirectInstanceRoutes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		option    bool
		preferred models.ActualLRPNetInfo_PreferredAddress
		host      string
		port, tls uint32
	}{
		{"unknown, option off", false, models.ActualLRPNetInfo_PreferredAddressUnknown, "10.0.0.5", 61000, 61001},
		{"unknown, option on", true, models.ActualLRPNetInfo_PreferredAddressUnknown, "10.255.0.2", 8080, 61001},
		{"instance preferred", false, models.ActualLRPNetInfo_PreferredAddressInstance, "10.255.0.2", 8080, 61001},
		{"host preferred, option on", true, models.ActualLRPNetInfo_PreferredAddressHost, "10.0.0.5", 61000, 61001},
	} {
		tb := NewWithOptions(Options{DirectInstanceRoutes: tc.option})
		tb.SetDesired(desiredLRP("pg", `[{"hostnames":["dora.example.com"],"port":8080}]`))
		a := actualLRP("pg", "ig-1", 0, models.ActualLRPStateRunning, false, "10.0.0.5", 61000)
		a.PreferredAddress = tc.preferred
		m := tb.SetActual(a)
		if len(m.Registrations) != 1 {
			t.Fatalf("%s: %+v", tc.name, m)
		}
		r := m.Registrations[0]
		if r.Host != tc.host || r.Port != tc.port || r.TLSPort != tc.tls {
			t.Errorf("%s: routed to %s:%d (tls %d), want %s:%d (tls %d)", tc.name, r.Host, r.Port, r.TLSPort, tc.host, tc.port, tc.tls)
		}
	}
}

// An instance that is not routable, or not RUNNING, is not routed.
func TestUnroutableInstances(t *testing.T) {
	tb := New()
	tb.SetDesired(desiredLRP("pg", `[{"hostnames":["dora.example.com"],"port":8080}]`))
	a := actualLRP("pg", "ig-1", 0, models.ActualLRPStateRunning, false, "10.0.0.5", 61000)
	a.SetRoutable(false)
	if m := tb.SetActual(a); !m.Empty() {
		t.Fatalf("unroutable instance emitted %+v", m)
	}
	a.SetRoutable(true)
	if m := tb.SetActual(a); len(m.Registrations) != 1 {
		t.Fatalf("routable instance: %+v", m)
	}
	a.State = models.ActualLRPStateCrashed
	if m := tb.SetActual(a); len(m.Unregistrations) != 1 {
		t.Fatalf("crashed instance: %+v", m)
	}
}
