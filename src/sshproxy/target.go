package sshproxy

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
)

// BBS is what the proxy reads from the BBS (the reference client has it).
type BBS interface {
	DesiredLRPByProcessGuid(logger lager.Logger, traceID, processGuid string) (*models.DesiredLRP, error)
	ActualLRPs(logger lager.Logger, traceID string, filter models.ActualLRPFilter) ([]*models.ActualLRP, error)
}

// Target is where and how to reach one instance's SSH daemon.
type Target struct {
	Address      string
	InstanceGUID string
	CellID       string
	Route        Route
}

// Resolver finds a grant's instance in the BBS.
type Resolver struct {
	BBS BBS
	// ConnectToInstanceAddress dials the container's own address and port
	// when the instance does not say which it prefers.
	ConnectToInstanceAddress bool
	Logger                   lager.Logger
}

// Resolve reads the desired LRP's diego-ssh route and the instance's
// address and port for the route's container port.
func (r Resolver) Resolve(g Grant) (Target, error) {
	log := r.Logger
	if log == nil {
		log = lager.NewLogger("ssh-proxy")
	}
	noMatch := fmt.Errorf("no matching ActualLRP for ProcessGuid: %s, Index: %d", g.ProcessGUID, g.Index)
	desired, err := r.BBS.DesiredLRPByProcessGuid(log, "", g.ProcessGUID)
	if err != nil {
		if e := models.ConvertError(err); e != nil && e.Type == models.Error_ResourceNotFound {
			return Target{}, fmt.Errorf("%w (no desired LRP has process guid %s)", noMatch, g.ProcessGUID)
		}
		return Target{}, fmt.Errorf("reading desired LRP %s from the BBS: %w", g.ProcessGUID, err)
	}
	if g.Index < 0 || g.Index >= int(desired.Instances) {
		switch desired.Instances {
		case 0:
			return Target{}, fmt.Errorf("%w (the LRP has no instances)", noMatch)
		case 1:
			return Target{}, fmt.Errorf("%w (the LRP has 1 instance, index 0)", noMatch)
		}
		return Target{}, fmt.Errorf("%w (the LRP has %d instances, indexes 0 to %d)", noMatch, desired.Instances, desired.Instances-1)
	}
	route, err := sshRoute(desired)
	if err != nil {
		return Target{}, err
	}
	idx := int32(g.Index)
	actuals, err := r.BBS.ActualLRPs(log, "", models.ActualLRPFilter{ProcessGuid: g.ProcessGUID, Index: &idx})
	if err != nil {
		return Target{}, fmt.Errorf("reading actual LRPs of %s from the BBS: %w", g.ProcessGUID, err)
	}
	actual := pickRunning(actuals)
	if actual == nil {
		if len(actuals) == 0 {
			return Target{}, noMatch
		}
		return Target{}, fmt.Errorf("instance %d of %s is %s, not RUNNING: try again once it runs", g.Index, g.ProcessGUID, actuals[0].State)
	}
	addr, err := r.address(actual, route.ContainerPort)
	if err != nil {
		return Target{}, err
	}
	return Target{Address: addr, InstanceGUID: actual.InstanceGuid, CellID: actual.CellId, Route: route}, nil
}

func sshRoute(d *models.DesiredLRP) (Route, error) {
	if d.Routes == nil {
		return Route{}, ErrRouteNotFound
	}
	raw := (*d.Routes)[RouteKey]
	if raw == nil {
		return Route{}, ErrRouteNotFound
	}
	var route Route
	if err := json.Unmarshal(*raw, &route); err != nil {
		return Route{}, fmt.Errorf("%w: the diego-ssh route is not valid JSON: %v", ErrRouteNotFound, err)
	}
	return route, nil
}

// pickRunning prefers the RUNNING ordinary instance, then a RUNNING
// evacuating one.
func pickRunning(actuals []*models.ActualLRP) *models.ActualLRP {
	var evacuating *models.ActualLRP
	for _, a := range actuals {
		if a.State != models.ActualLRPStateRunning {
			continue
		}
		if a.Presence == models.ActualLRP_Evacuating {
			evacuating = a
			continue
		}
		return a
	}
	return evacuating
}

func (r Resolver) address(a *models.ActualLRP, containerPort uint32) (string, error) {
	for _, m := range a.Ports {
		if m.ContainerPort != containerPort {
			continue
		}
		useInstance := r.ConnectToInstanceAddress
		switch a.PreferredAddress {
		case models.ActualLRPNetInfo_PreferredAddressInstance:
			useInstance = true
		case models.ActualLRPNetInfo_PreferredAddressHost:
			useInstance = false
		}
		if useInstance {
			return net.JoinHostPort(a.InstanceAddress, strconv.Itoa(int(m.ContainerPort))), nil
		}
		return net.JoinHostPort(a.Address, strconv.Itoa(int(m.HostPort))), nil
	}
	return "", fmt.Errorf("instance %d of %s has no port mapping for the diego-ssh route's container port %d", a.Index, a.ProcessGuid, containerPort)
}
