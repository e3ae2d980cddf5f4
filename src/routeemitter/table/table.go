// Package table decides which router.register and router.unregister messages
// the route emitter sends, from desired LRP routes and running actual LRPs.
package table

import (
	"fmt"
	"sort"
	"strconv"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/routing-info/cfroutes"
)

// RegistryMessage is the JSON body of router.register and router.unregister,
// field for field as the reference route emitter sends it.
type RegistryMessage struct {
	Host                 string            `json:"host"`
	Port                 uint32            `json:"port"`
	TLSPort              uint32            `json:"tls_port,omitempty"`
	URIs                 []string          `json:"uris"`
	Protocol             string            `json:"protocol,omitempty"`
	App                  string            `json:"app,omitempty"`
	RouteServiceURL      string            `json:"route_service_url,omitempty"`
	PrivateInstanceID    string            `json:"private_instance_id,omitempty"`
	PrivateInstanceIndex string            `json:"private_instance_index,omitempty"`
	ServerCertDomainSAN  string            `json:"server_cert_domain_san,omitempty"`
	IsolationSegment     string            `json:"isolation_segment,omitempty"`
	Tags                 map[string]string `json:"tags,omitempty"`
	AvailabilityZone     string            `json:"availability_zone,omitempty"`
}

// Messages are what one change asks the emitter to send.
type Messages struct {
	Registrations   []RegistryMessage
	Unregistrations []RegistryMessage
}

// Empty reports whether there is nothing to send.
func (m Messages) Empty() bool { return len(m.Registrations) == 0 && len(m.Unregistrations) == 0 }

type route struct {
	hostname, routeServiceURL, isolationSegment, protocol string
}

type desired struct {
	logGUID    string
	metricTags map[string]*models.MetricTagValue
	routes     map[uint32][]route // by container port
}

type endpointKey struct {
	instanceGUID string
	evacuating   bool
}

type endpoint struct {
	instanceGUID, host, az string
	index                  int32
	ports                  []*models.PortMapping
}

// Table holds the routes of desired LRPs and the endpoints of their running
// instances. It is not safe for concurrent use; the caller serialises events.
type Table struct {
	desired map[string]desired
	actual  map[string]map[endpointKey]endpoint
}

// New returns an empty table.
func New() *Table {
	return &Table{desired: map[string]desired{}, actual: map[string]map[endpointKey]endpoint{}}
}

// SetDesired records a created or changed desired LRP and returns the
// messages that bring the routers up to date.
func (t *Table) SetDesired(lrp *models.DesiredLRP) Messages {
	guid := lrp.ProcessGuid
	before := t.messagesFor(guid)
	d := desired{logGUID: lrp.LogGuid, metricTags: lrp.MetricTags, routes: map[uint32][]route{}}
	if lrp.Routes != nil {
		rs, _ := cfroutes.CFRoutesFromRoutingInfo(*lrp.Routes)
		for _, r := range rs {
			for _, h := range r.Hostnames {
				d.routes[r.Port] = append(d.routes[r.Port], route{h, r.RouteServiceUrl, r.IsolationSegment, r.Protocol})
			}
		}
	}
	t.desired[guid] = d
	return diff(before, t.messagesFor(guid))
}

// RemoveDesired forgets a desired LRP's routes and unregisters them.
func (t *Table) RemoveDesired(processGUID string) Messages {
	before := t.messagesFor(processGUID)
	delete(t.desired, processGUID)
	return diff(before, nil)
}

// SetActual records an actual LRP after a create or change: a RUNNING
// instance with ports that is routable (or does not say) is routed, anything
// else is removed from the table.
func (t *Table) SetActual(lrp *models.ActualLRP) Messages {
	if lrp.State != models.ActualLRPStateRunning || len(lrp.Ports) == 0 || (lrp.RoutableExists() && !lrp.GetRoutable()) {
		return t.RemoveActual(lrp)
	}
	guid := lrp.ProcessGuid
	before := t.messagesFor(guid)
	eps := t.actual[guid]
	if eps == nil {
		eps = map[endpointKey]endpoint{}
		t.actual[guid] = eps
	}
	eps[keyOf(lrp)] = endpoint{instanceGUID: lrp.InstanceGuid, host: lrp.Address, az: lrp.AvailabilityZone, index: lrp.Index, ports: lrp.Ports}
	return diff(before, t.messagesFor(guid))
}

// RemoveActual forgets an actual LRP (removed, crashed, or no longer
// running); an evacuating and an instance record of the same instance are
// separate endpoints, as in the reference.
func (t *Table) RemoveActual(lrp *models.ActualLRP) Messages {
	guid := lrp.ProcessGuid
	eps, ok := t.actual[guid]
	if !ok {
		return Messages{}
	}
	if _, ok := eps[keyOf(lrp)]; !ok {
		return Messages{}
	}
	before := t.messagesFor(guid)
	delete(eps, keyOf(lrp))
	if len(eps) == 0 {
		delete(t.actual, guid)
	}
	return diff(before, t.messagesFor(guid))
}

// Registrations returns every registration the table holds, for the
// periodic re-registration and for a bulk sync.
func (t *Table) Registrations() []RegistryMessage {
	guids := make([]string, 0, len(t.desired))
	for g := range t.desired {
		guids = append(guids, g)
	}
	sort.Strings(guids)
	var out []RegistryMessage
	for _, g := range guids {
		out = append(out, t.messagesFor(g)...)
	}
	return out
}

// Swap replaces the table's content with other's (a bulk sync) and returns
// the messages that take the routers from the old content to the new.
func (t *Table) Swap(other *Table) Messages {
	before := t.Registrations()
	t.desired, t.actual = other.desired, other.actual
	return diff(before, t.Registrations())
}

func keyOf(lrp *models.ActualLRP) endpointKey {
	return endpointKey{lrp.InstanceGuid, lrp.Presence == models.ActualLRP_Evacuating}
}

// messagesFor lists the registrations of one process, sorted, one per
// hostname and endpoint as the reference does.
func (t *Table) messagesFor(processGUID string) []RegistryMessage {
	d, ok := t.desired[processGUID]
	if !ok {
		return nil
	}
	var out []RegistryMessage
	for _, ep := range t.actual[processGUID] {
		for _, pm := range ep.ports {
			if pm == nil {
				continue
			}
			for _, r := range d.routes[pm.ContainerPort] {
				out = append(out, message(d, r, ep, pm))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return identity(out[i]) < identity(out[j]) })
	return out
}

func message(d desired, r route, ep endpoint, pm *models.PortMapping) RegistryMessage {
	var index string
	if ep.instanceGUID != "" {
		index = strconv.Itoa(int(ep.index))
	}
	tags := map[string]string{}
	for k, v := range d.metricTags {
		switch {
		case v == nil:
		case v.Dynamic == models.MetricTagDynamicValueIndex:
			tags[k] = strconv.Itoa(int(ep.index))
		case v.Dynamic == models.MetricTagDynamicValueInstanceGuid:
			tags[k] = ep.instanceGUID
		default:
			tags[k] = v.Static
		}
	}
	tags["component"] = "route-emitter"
	return RegistryMessage{
		Host: ep.host, Port: pm.HostPort, TLSPort: pm.HostTlsProxyPort,
		URIs: []string{r.hostname}, Protocol: r.protocol, App: d.logGUID,
		RouteServiceURL: r.routeServiceURL, IsolationSegment: r.isolationSegment,
		PrivateInstanceID: ep.instanceGUID, PrivateInstanceIndex: index,
		ServerCertDomainSAN: ep.instanceGUID, Tags: tags, AvailabilityZone: ep.az,
	}
}

// identity is what makes two registrations the same for the diff: every
// field the router keys on or shows.
func identity(m RegistryMessage) string {
	return fmt.Sprintf("%v|%s|%d|%d|%s|%s|%s|%s|%s|%s|%s|%v", m.URIs, m.Host, m.Port, m.TLSPort, m.Protocol, m.App,
		m.RouteServiceURL, m.PrivateInstanceID, m.PrivateInstanceIndex, m.IsolationSegment, m.AvailabilityZone, m.Tags)
}

// diff registers what is new in after and unregisters what after lost.
func diff(before, after []RegistryMessage) Messages {
	had := make(map[string]bool, len(before))
	for _, m := range before {
		had[identity(m)] = true
	}
	has := make(map[string]bool, len(after))
	var out Messages
	for _, m := range after {
		id := identity(m)
		has[id] = true
		if !had[id] {
			out.Registrations = append(out.Registrations, m)
		}
	}
	for _, m := range before {
		if !has[identity(m)] {
			out.Unregistrations = append(out.Unregistrations, m)
		}
	}
	return out
}
