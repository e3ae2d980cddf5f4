package daemon

import (
	"log/slog"
	"reflect"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/container"
)

func TestEgressRules(t *testing.T) {
	got := egressRules(slog.New(slog.DiscardHandler), []*models.SecurityGroupRule{
		{Protocol: "tcp", Destinations: []string{"10.0.0.0/8", "1.2.3.4-1.2.3.9"}, Ports: []uint32{80, 443}, Log: true},
		{Protocol: "udp", Destinations: []string{"8.8.8.8"}, PortRange: &models.PortRange{Start: 53, End: 54}},
		{Protocol: "icmp", Destinations: []string{"0.0.0.0/0"}, IcmpInfo: &models.ICMPInfo{Type: 8, Code: -1}},
		{Protocol: "all", Destinations: []string{"10.1.0.0/16"}},
		{Protocol: "tcp", Destinations: []string{"nowhere"}, Ports: []uint32{80}}, // invalid: left out
		nil,
	})
	want := []container.EgressRule{
		{Protocol: "tcp", Destinations: []string{"10.0.0.0/8", "1.2.3.4-1.2.3.9"}, Ports: []uint32{80, 443}, ICMPType: -1, ICMPCode: -1, Log: true},
		{Protocol: "udp", Destinations: []string{"8.8.8.8"}, PortRange: &[2]uint32{53, 54}, ICMPType: -1, ICMPCode: -1},
		{Protocol: "icmp", Destinations: []string{"0.0.0.0/0"}, ICMPType: 8, ICMPCode: -1},
		{Protocol: "all", Destinations: []string{"10.1.0.0/16"}, ICMPType: -1, ICMPCode: -1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("egressRules =\n%+v\nwant\n%+v", got, want)
	}
}
