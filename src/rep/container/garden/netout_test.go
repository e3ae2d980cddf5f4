package garden_test

import (
	"net"
	"reflect"
	"strings"
	"testing"

	gardenapi "code.cloudfoundry.org/garden"

	"github.com/diego-go/diego/src/rep/container"
)

func TestCreateNetOut(t *testing.T) {
	fb, b := fakeServer(t)
	fc := fakeContainer("h")
	fb.CreateReturns(fc, nil)
	fb.LookupReturns(fc, nil)
	_, err := b.Create(t.Context(), container.Spec{Handle: "h", RootFS: "preloaded:cflinuxfs4", EgressRules: []container.EgressRule{
		{Protocol: "tcp", Destinations: []string{"10.0.0.0/8", "1.2.3.4-1.2.3.9"}, Ports: []uint32{80, 443}, ICMPType: -1, ICMPCode: -1, Log: true},
		{Protocol: "udp", Destinations: []string{"8.8.8.8"}, PortRange: &[2]uint32{53, 54}, ICMPType: -1, ICMPCode: -1},
		{Protocol: "icmp", Destinations: []string{"0.0.0.0/0"}, ICMPType: 8, ICMPCode: -1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []gardenapi.NetOutRule{
		{Protocol: gardenapi.ProtocolTCP, Networks: []gardenapi.IPRange{
			{Start: net.ParseIP("10.0.0.0").To4(), End: net.ParseIP("10.255.255.255").To4()},
			{Start: net.ParseIP("1.2.3.4"), End: net.ParseIP("1.2.3.9")},
		}, Ports: []gardenapi.PortRange{{Start: 80, End: 80}, {Start: 443, End: 443}}, Log: true},
		{Protocol: gardenapi.ProtocolUDP, Networks: []gardenapi.IPRange{{Start: net.ParseIP("8.8.8.8"), End: net.ParseIP("8.8.8.8")}}, Ports: []gardenapi.PortRange{{Start: 53, End: 54}}},
		{Protocol: gardenapi.ProtocolICMP, Networks: []gardenapi.IPRange{{Start: net.ParseIP("0.0.0.0").To4(), End: net.ParseIP("255.255.255.255").To4()}},
			ICMPs: &gardenapi.ICMPControl{Type: 8, Code: gardenapi.ICMPControlCode(255)}},
	}
	got := fb.CreateArgsForCall(0).NetOut
	if len(got) != len(want) {
		t.Fatalf("NetOut = %+v, want %+v", got, want)
	}
	for i := range want {
		if !netOutEqual(got[i], want[i]) {
			t.Errorf("NetOut[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}

	_, err = b.Create(t.Context(), container.Spec{Handle: "bad", RootFS: "preloaded:cflinuxfs4", EgressRules: []container.EgressRule{{Protocol: "tcp", Destinations: []string{"nowhere"}}}})
	if err == nil || !strings.Contains(err.Error(), `destination "nowhere"`) {
		t.Errorf("Create with a bad destination: %v", err)
	}
}

// netOutEqual compares rules with addresses compared as IPs (4 or 16 bytes).
func netOutEqual(a, b gardenapi.NetOutRule) bool {
	if len(a.Networks) != len(b.Networks) {
		return false
	}
	for i := range a.Networks {
		if !a.Networks[i].Start.Equal(b.Networks[i].Start) || !a.Networks[i].End.Equal(b.Networks[i].End) {
			return false
		}
	}
	a.Networks, b.Networks = nil, nil
	return reflect.DeepEqual(a, b)
}
