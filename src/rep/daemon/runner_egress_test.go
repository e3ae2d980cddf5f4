package daemon

import (
	"log/slog"
	"reflect"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/container"
)

func TestEgressRules(t *testing.T) {
	got, err := egressRules(slog.New(slog.DiscardHandler), []*models.SecurityGroupRule{
		{Protocol: "tcp", Destinations: []string{"10.0.0.0/8", "1.2.3.4-1.2.3.9"}, Ports: []uint32{80, 443}, Log: true},
		{Protocol: "udp", Destinations: []string{"8.8.8.8"}, PortRange: &models.PortRange{Start: 53, End: 54}},
		{Protocol: "icmp", Destinations: []string{"0.0.0.0/0"}, IcmpInfo: &models.ICMPInfo{Type: 8, Code: -1}},
		{Protocol: "all", Destinations: []string{"10.1.0.0/16"}},
		nil,
	})
	want := []container.EgressRule{
		{Protocol: "tcp", Destinations: []string{"10.0.0.0/8", "1.2.3.4-1.2.3.9"}, Ports: []uint32{80, 443}, ICMPType: -1, ICMPCode: -1, Log: true},
		{Protocol: "udp", Destinations: []string{"8.8.8.8"}, PortRange: &[2]uint32{53, 54}, ICMPType: -1, ICMPCode: -1},
		{Protocol: "icmp", Destinations: []string{"0.0.0.0/0"}, ICMPType: 8, ICMPCode: -1},
		{Protocol: "all", Destinations: []string{"10.1.0.0/16"}, ICMPType: -1, ICMPCode: -1},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("egressRules =\n%+v, %v\nwant\n%+v", got, err, want)
	}
}

// TestInvalidEgressRule: a rule the BBS would refuse fails the conversion
// with the BBS's validation error, which fails the container as in the
// executor (converting egress rules is the first part of creating it).
func TestInvalidEgressRule(t *testing.T) {
	got, err := egressRules(slog.New(slog.DiscardHandler), []*models.SecurityGroupRule{
		{Protocol: "tcp", Destinations: []string{"10.0.0.0/8"}, Ports: []uint32{80}},
		{Protocol: "tcp", Destinations: []string{"nowhere"}, Ports: []uint32{80}},
	})
	want := (&models.SecurityGroupRule{Protocol: "tcp", Destinations: []string{"nowhere"}, Ports: []uint32{80}}).Validate()
	if got != nil || err == nil || err.Error() != want.Error() {
		t.Fatalf("egressRules = %+v, %v; want no rules and %q", got, err, want)
	}
	t.Logf("reason: failed to create container: %v", err)
}
