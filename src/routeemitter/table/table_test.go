package table

import (
	"encoding/json"
	"fmt"
	"testing"

	"code.cloudfoundry.org/bbs/models"
)

func desiredLRP(guid, routesJSON string) *models.DesiredLRP {
	raw := json.RawMessage(routesJSON)
	return &models.DesiredLRP{
		ProcessGuid: guid, LogGuid: "log-" + guid,
		Routes:     &models.Routes{"cf-router": &raw},
		MetricTags: map[string]*models.MetricTagValue{"app_name": {Static: "dora"}, "instance": {Dynamic: models.MetricTagDynamicValueIndex}},
	}
}

func actualLRP(guid, instance string, index int32, state string, evacuating bool, host string, hostPort uint32) *models.ActualLRP {
	presence := models.ActualLRP_Ordinary
	if evacuating {
		presence = models.ActualLRP_Evacuating
	}
	return &models.ActualLRP{
		ActualLRPKey:         models.ActualLRPKey{ProcessGuid: guid, Index: index, Domain: "cf-apps"},
		ActualLRPInstanceKey: models.ActualLRPInstanceKey{InstanceGuid: instance, CellId: "cell-1"},
		ActualLRPNetInfo: models.ActualLRPNetInfo{Address: host, InstanceAddress: "10.255.0.2",
			Ports: []*models.PortMapping{{ContainerPort: 8080, HostPort: hostPort, ContainerTlsProxyPort: 61001, HostTlsProxyPort: hostPort + 1}}},
		State: state, Presence: presence, AvailabilityZone: "z1",
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The register message is byte for byte the reference's router.register body.
func TestRegisterMessageGolden(t *testing.T) {
	tb := New()
	if m := tb.SetDesired(desiredLRP("pg", `[{"hostnames":["dora.example.com"],"port":8080,"route_service_url":"https://rs.example.com","isolation_segment":"iso","protocol":"http2"}]`)); !m.Empty() {
		t.Fatalf("desired without instances emitted %+v", m)
	}
	m := tb.SetActual(actualLRP("pg", "ig-1", 3, models.ActualLRPStateRunning, false, "10.0.0.5", 61000))
	if len(m.Registrations) != 1 || len(m.Unregistrations) != 0 {
		t.Fatalf("got %+v", m)
	}
	want := `{"host":"10.0.0.5","port":61000,"tls_port":61001,"uris":["dora.example.com"],"protocol":"http2","app":"log-pg",` +
		`"route_service_url":"https://rs.example.com","private_instance_id":"ig-1","private_instance_index":"3",` +
		`"server_cert_domain_san":"ig-1","isolation_segment":"iso","tags":{"app_name":"dora","component":"route-emitter","instance":"3"},` +
		`"availability_zone":"z1"}`
	if got := mustJSON(t, m.Registrations[0]); got != want {
		t.Fatalf("register body\n got %s\nwant %s", got, want)
	}
}

func TestChanges(t *testing.T) {
	const routes = `[{"hostnames":["a.example.com","b.example.com"],"port":8080}]`
	running := actualLRP("pg", "ig-1", 0, models.ActualLRPStateRunning, false, "10.0.0.5", 61000)
	cases := []struct {
		name         string
		steps        func(tb *Table) Messages
		reg, unreg   int
		wantHostname string
	}{
		{"claimed instance is not routable", func(tb *Table) Messages {
			tb.SetDesired(desiredLRP("pg", routes))
			return tb.SetActual(actualLRP("pg", "ig-1", 0, models.ActualLRPStateClaimed, false, "", 0))
		}, 0, 0, ""},
		{"running but unroutable instance is not routed", func(tb *Table) Messages {
			tb.SetDesired(desiredLRP("pg", routes))
			tb.SetActual(running)
			unroutable := actualLRP("pg", "ig-1", 0, models.ActualLRPStateRunning, false, "10.0.0.5", 61000)
			unroutable.SetRoutable(false)
			return tb.SetActual(unroutable)
		}, 0, 2, "a.example.com"},
		{"running instance registers every hostname", func(tb *Table) Messages {
			tb.SetDesired(desiredLRP("pg", routes))
			return tb.SetActual(running)
		}, 2, 0, "a.example.com"},
		{"actual before desired registers on desire", func(tb *Table) Messages {
			tb.SetActual(running)
			return tb.SetDesired(desiredLRP("pg", routes))
		}, 2, 0, "a.example.com"},
		{"same running event twice emits nothing", func(tb *Table) Messages {
			tb.SetDesired(desiredLRP("pg", routes))
			tb.SetActual(running)
			return tb.SetActual(running)
		}, 0, 0, ""},
		{"removed actual unregisters", func(tb *Table) Messages {
			tb.SetDesired(desiredLRP("pg", routes))
			tb.SetActual(running)
			return tb.RemoveActual(running)
		}, 0, 2, "a.example.com"},
		{"crashed actual unregisters", func(tb *Table) Messages {
			tb.SetDesired(desiredLRP("pg", routes))
			tb.SetActual(running)
			return tb.SetActual(actualLRP("pg", "ig-1", 0, models.ActualLRPStateCrashed, false, "", 0))
		}, 0, 2, "a.example.com"},
		{"hostname removed from desired unregisters it", func(tb *Table) Messages {
			tb.SetDesired(desiredLRP("pg", routes))
			tb.SetActual(running)
			return tb.SetDesired(desiredLRP("pg", `[{"hostnames":["a.example.com"],"port":8080}]`))
		}, 0, 1, "b.example.com"},
		{"hostname added to desired registers it", func(tb *Table) Messages {
			tb.SetDesired(desiredLRP("pg", `[{"hostnames":["a.example.com"],"port":8080}]`))
			tb.SetActual(running)
			return tb.SetDesired(desiredLRP("pg", routes))
		}, 1, 0, "b.example.com"},
		{"route on another container port is not emitted", func(tb *Table) Messages {
			tb.SetDesired(desiredLRP("pg", `[{"hostnames":["a.example.com"],"port":9090}]`))
			return tb.SetActual(running)
		}, 0, 0, ""},
		{"desired removed unregisters all", func(tb *Table) Messages {
			tb.SetDesired(desiredLRP("pg", routes))
			tb.SetActual(running)
			return tb.RemoveDesired("pg")
		}, 0, 2, "a.example.com"},
		{"evacuating instance keeps its route beside the new one", func(tb *Table) Messages {
			tb.SetDesired(desiredLRP("pg", routes))
			tb.SetActual(running)
			tb.SetActual(actualLRP("pg", "ig-1", 0, models.ActualLRPStateRunning, true, "10.0.0.5", 61000))
			return tb.SetActual(actualLRP("pg", "ig-2", 0, models.ActualLRPStateRunning, false, "10.0.0.6", 62000))
		}, 2, 0, "a.example.com"},
		{"evacuating record removed unregisters only its address", func(tb *Table) Messages {
			tb.SetDesired(desiredLRP("pg", routes))
			evac := actualLRP("pg", "ig-1", 0, models.ActualLRPStateRunning, true, "10.0.0.5", 61000)
			tb.SetActual(evac)
			tb.SetActual(actualLRP("pg", "ig-2", 0, models.ActualLRPStateRunning, false, "10.0.0.6", 62000))
			return tb.RemoveActual(evac)
		}, 0, 2, "a.example.com"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.steps(New())
			if len(m.Registrations) != c.reg || len(m.Unregistrations) != c.unreg {
				t.Fatalf("got %d registrations, %d unregistrations, want %d, %d: %+v", len(m.Registrations), len(m.Unregistrations), c.reg, c.unreg, m)
			}
			all := append(m.Registrations, m.Unregistrations...)
			if c.wantHostname != "" && all[0].URIs[0] != c.wantHostname {
				t.Fatalf("first message for %v, want %s", all[0].URIs, c.wantHostname)
			}
		})
	}
}

func TestEvacuationUnregistersOldAddress(t *testing.T) {
	tb := New()
	tb.SetDesired(desiredLRP("pg", `[{"hostnames":["a.example.com"],"port":8080}]`))
	evac := actualLRP("pg", "ig-1", 0, models.ActualLRPStateRunning, true, "10.0.0.5", 61000)
	tb.SetActual(evac)
	tb.SetActual(actualLRP("pg", "ig-2", 0, models.ActualLRPStateRunning, false, "10.0.0.6", 62000))
	m := tb.RemoveActual(evac)
	if len(m.Unregistrations) != 1 || m.Unregistrations[0].Host != "10.0.0.5" {
		t.Fatalf("got %+v", m)
	}
	if regs := tb.Registrations(); len(regs) != 1 || regs[0].Host != "10.0.0.6" {
		t.Fatalf("table holds %+v", regs)
	}
}

func TestSwapEmitsTheDifference(t *testing.T) {
	tb := New()
	tb.SetDesired(desiredLRP("pg", `[{"hostnames":["a.example.com"],"port":8080}]`))
	tb.SetActual(actualLRP("pg", "ig-1", 0, models.ActualLRPStateRunning, false, "10.0.0.5", 61000))
	fresh := New()
	fresh.SetDesired(desiredLRP("pg", `[{"hostnames":["a.example.com"],"port":8080}]`))
	fresh.SetActual(actualLRP("pg", "ig-2", 1, models.ActualLRPStateRunning, false, "10.0.0.7", 61000))
	m := tb.Swap(fresh)
	if len(m.Registrations) != 1 || m.Registrations[0].PrivateInstanceID != "ig-2" ||
		len(m.Unregistrations) != 1 || m.Unregistrations[0].PrivateInstanceID != "ig-1" {
		t.Fatalf("got %+v", m)
	}
}

// BenchmarkActualChangeAt10000Routes measures one instance change in a
// table of 10,000 routes (2,500 processes × 2 instances × 2 hostnames).
func BenchmarkActualChangeAt10000Routes(b *testing.B) {
	tb := bigTable(b, "10.0.0.5")
	up := actualLRP("pg-7", "ig-new", 2, models.ActualLRPStateRunning, false, "10.0.0.9", 60000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if m := tb.SetActual(up); len(m.Registrations) != 2 {
			b.Fatal(m)
		}
		if m := tb.RemoveActual(up); len(m.Unregistrations) != 2 {
			b.Fatal(m)
		}
	}
}

// bigTable holds 10,000 routes: 2,500 processes × 2 instances × 2 hostnames.
func bigTable(b *testing.B, host string) *Table {
	tb := New()
	for p := 0; p < 2500; p++ {
		guid := fmt.Sprintf("pg-%d", p)
		tb.SetDesired(desiredLRP(guid, fmt.Sprintf(`[{"hostnames":["a%d.example.com","b%d.example.com"],"port":8080}]`, p, p)))
		for i := int32(0); i < 2; i++ {
			tb.SetActual(actualLRP(guid, fmt.Sprintf("ig-%d-%d", p, i), i, models.ActualLRPStateRunning, false, host, uint32(61000+p*2)+uint32(i)))
		}
	}
	if n := len(tb.Registrations()); n != 10000 {
		b.Fatalf("table holds %d routes", n)
	}
	return tb
}

// BenchmarkSwapAt10000Routes measures a bulk sync that moves every one of
// 10,000 routes (all instances changed host): 10,000 registers and 10,000
// unregisters per swap, two swaps per iteration.
func BenchmarkSwapAt10000Routes(b *testing.B) {
	tb, here, there := bigTable(b, "10.0.0.5"), bigTable(b, "10.0.0.5"), bigTable(b, "10.0.0.6")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, next := range []*Table{there, here} {
			m := tb.Swap(next)
			if len(m.Registrations) != 10000 || len(m.Unregistrations) != 10000 {
				b.Fatalf("%d/%d", len(m.Registrations), len(m.Unregistrations))
			}
		}
	}
}

// A bulk sync that finds nothing changed (the usual case) at 10,000 routes.
func BenchmarkSwapUnchangedAt10000Routes(b *testing.B) {
	tb, same := bigTable(b, "10.0.0.5"), bigTable(b, "10.0.0.5")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if m := tb.Swap(same); !m.Empty() {
			b.Fatalf("an unchanged sync emitted %d/%d", len(m.Registrations), len(m.Unregistrations))
		}
	}
}
