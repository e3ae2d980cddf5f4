package daemon

import (
	"log/slog"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/container"
)

// egressRules converts the egress rules of a desired LRP or task (Cloud
// Foundry's application security groups) into the backend's. A rule that
// fails the BBS's validation (which the BBS applied when it was desired) is
// an error, and the caller fails the container with it ("failed to create
// container: ..."), as the executor does.
func egressRules(log *slog.Logger, rules []*models.SecurityGroupRule) ([]container.EgressRule, error) {
	var out []container.EgressRule
	for i, r := range rules {
		if r == nil {
			continue
		}
		if err := r.Validate(); err != nil {
			log.Error("invalid egress rule", "index", i, "err", err)
			return nil, err // the executor's reason is the validation error alone
		}
		e := container.EgressRule{
			Protocol:     r.Protocol,
			Destinations: append([]string(nil), r.Destinations...),
			Ports:        append([]uint32(nil), r.Ports...),
			ICMPType:     -1,
			ICMPCode:     -1,
			Log:          r.Log,
		}
		if r.PortRange != nil {
			e.PortRange = &[2]uint32{r.PortRange.Start, r.PortRange.End}
			e.Ports = nil // the executor prefers the range
		}
		if r.Protocol == models.ICMPProtocol && r.IcmpInfo != nil {
			e.ICMPType, e.ICMPCode = r.IcmpInfo.Type, r.IcmpInfo.Code
		}
		out = append(out, e)
	}
	return out, nil
}
